import Foundation
import Hummingbird
import TributaryHTTP
import TributaryCore

/// Reading what a request carries: its body within a deadline, strict JSON, query and path numbers.
enum RequestBody {
    /// The request body, at most `limit` bytes, arriving within `deadline` seconds however it
    /// trickles (`RequestBodies`: reading stops at the deadline, not at the next byte).
    static func bytes(_ request: Request, _ context: ServiceRequestContext, limit: Int = 1 << 20, deadline: Int64) async throws -> [UInt8] {
        try await RequestBodies.collect(request, context: context, limit: limit, deadline: Double(deadline))
    }

    /// The request body parsed strictly as a JSON object.
    static func jsonObject(_ request: Request, _ context: ServiceRequestContext, limit: Int = 1 << 20, deadline: Int64) async throws -> JSONValue {
        let raw = try await bytes(request, context, limit: limit, deadline: deadline)
        let json: JSONValue
        do { json = try StrictJSONParser.parse(raw, maxDepth: 16) } catch { throw ServerError.badRequest("body is not valid JSON: \(error)") }
        guard case .object = json else { throw ServerError.badRequest("body must be a JSON object") }
        return json
    }
}

extension Request {
    /// A required non-negative integer query parameter, at most `max`.
    func integer(_ name: String, max: UInt64 = UInt64(Int64.max)) throws -> UInt64 {
        guard let text = uri.queryParameters[Substring(name)].map(String.init) else { throw ServerError.badRequest("missing query parameter \(name)") }
        guard let v = UInt64(text), v <= max else { throw ServerError.badRequest("query parameter \(name) must be an integer in 0...\(max)") }
        return v
    }
}

/// A log index or release number from a path: a decimal that fits the database's signed 64 bits.
enum PathNumber {
    static func index(_ context: some RequestContext, _ name: String) throws -> UInt64 {
        let text = try context.parameters.require(name)
        guard let v = UInt64(text), v <= UInt64(Int64.max) else {
            throw ServerError.badRequest("\(name) must be an integer in 0...\(Int64.max)")
        }
        return v
    }

    static func release(_ context: some RequestContext, _ name: String) throws -> Int {
        let text = try context.parameters.require(name)
        guard let v = Int(text), v >= 1 else { throw ServerError.badRequest("\(name) must be a release number, 1 or more") }
        return v
    }
}

