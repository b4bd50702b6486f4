import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TributaryCore
import TributaryLog
import TributaryAPI

/// An error the server answered with (`{"error": {"code", "message"}}`), or a transport failure.
public struct RemoteError: CodedError {
    public let status: Int
    public let code: String
    public let message: String
}

/// The client side of the HTTP API: what data owners, operators and auditors call.
public struct TributaryClient: Sendable {
    public let base: String
    let http: HTTPClient
    public var timeout: TimeAmount = .seconds(600)
    /// The same, for callers that do not import NIO.
    public var timeoutSeconds: Int64 {
        get { timeout.nanoseconds / 1_000_000_000 }
        set { timeout = .seconds(newValue) }
    }

    /// AsyncHTTPClient's shared client with its 90-second read timeout raised: the server answers some
    /// requests only when their work is done (a release with router tuning takes minutes on SmolLM2),
    /// and `timeout` bounds every request anyway. Never shut down, like `.shared`.
    public static let patientHTTP: HTTPClient = {
        var c = HTTPClient.Configuration.singletonConfiguration
        c.timeout = .init(connect: .seconds(90), read: .hours(2))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
    }()

    /// `server` like `http://127.0.0.1:8080`.
    public init(server: String, http: HTTPClient = TributaryClient.patientHTTP) throws {
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw TributaryError("client.bad_url", "\(server) is not an http(s) URL")
        }
        base = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.http = http
    }

    // MARK: Transport

    public func send(_ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body? = nil, contentType: String = "application/json",
              limit: Int = 64 << 20) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.body = body
            request.headers.add(name: "Content-Type", value: contentType)
        }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw RemoteError(status: 0, code: "client.unreachable", message: "\(base)\(path): \(error)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: limit))
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            if let json = try? StrictJSONParser.parse(bytes), case let .string(code)? = json["error"]?["code"],
               case let .string(message)? = json["error"]?["message"] {
                throw RemoteError(status: status, code: code, message: message)
            }
            throw RemoteError(status: status, code: "client.http_\(status)", message: String(decoding: bytes.prefix(300), as: UTF8.self))
        }
        return (status, bytes)
    }

    /// Raw JSON requests, for callers that send what no typed method does (hostile-input tests).
    public func getJSON(_ path: String) async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.GET, path).body)
    }

    public func postJSON(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.POST, path, body: .bytes(ByteBuffer(bytes: JSONWriter.serialize(body)))).body)
    }

    public func postBytes(_ path: String, _ bytes: [UInt8], contentType: String = "application/json") async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.POST, path, body: .bytes(ByteBuffer(bytes: bytes)), contentType: contentType).body)
    }

    /// Streams a response body of at most `limit` bytes into a file (atomically), returning its
    /// SHA-256: a server cannot fill the disk of whoever downloads from it.
    @discardableResult
    public func download(_ path: String, to file: String, limit: UInt64 = 1 << 36) async throws -> String {
        var request = HTTPClientRequest(url: base + path)
        request.method = .GET
        let response = try await http.execute(request, timeout: timeout)
        guard response.status == .ok else {
            let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            if let json = try? StrictJSONParser.parse(bytes), case let .string(code)? = json["error"]?["code"] {
                throw RemoteError(status: Int(response.status.code), code: code, message: "\(path): \(json["error"]?["message"] ?? .null)")
            }
            throw RemoteError(status: Int(response.status.code), code: "client.http_\(response.status.code)", message: path)
        }
        let writer = try AtomicFileWriter(path: file)
        let hasher = SHA256Hasher()
        var received: UInt64 = 0
        for try await buffer in response.body {
            received += UInt64(buffer.readableBytes)
            guard received <= limit else { throw TributaryError("client.too_large", "\(path): the server sent more than \(limit) bytes") }
            try buffer.withUnsafeReadableBytes { raw in
                hasher.update(raw)
                try writer.write(raw)
            }
        }
        try writer.commit()
        return Hex.encode(hasher.finalize())
    }
}
