import TributaryCore

/// Reads a client's JSON request strictly, as the server must: a field the endpoint does not read is
/// refused (a client may believe an ignored field was used), and every value is checked against its
/// range. Refusals are `api.bad_request` (400).
public struct RequestReader {
    public let json: JSONValue
    /// The longest string a serving request may carry.
    public static let maxText = 64 * 1024

    public init(_ json: JSONValue, fields: Set<String>) throws {
        guard case let .object(members) = json else { throw Self.bad("body must be a JSON object") }
        for (k, _) in members where !fields.contains(k) { throw Self.bad("unknown field \(k.debugDescription)") }
        self.json = json
    }

    public static func bad(_ message: String) -> TributaryError { TributaryError("api.bad_request", message) }

    public func has(_ field: String) -> Bool { json[field] != nil }

    public func string(_ field: String, default d: String? = nil) throws -> String {
        guard let v = json[field] else {
            if let d { return d }
            throw Self.bad("\(field) must be a string")
        }
        return try Self.string(v, field)
    }

    public static func string(_ v: JSONValue, _ name: String) throws -> String {
        guard case let .string(s) = v else { throw bad("\(name) must be a string") }
        guard s.utf8.count <= maxText else { throw bad("\(name) is longer than \(maxText) bytes") }
        return s
    }

    public func int(_ field: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let v = json[field] else { return d }
        guard case let .number(t) = v, let n = Int(t), range.contains(n) else { throw Self.bad("\(field) must be an integer in \(range)") }
        return n
    }

    /// A number in `range`; a subnormal is refused with the rest (it would make a division overflow).
    public func double(_ field: String, default d: Double, range: ClosedRange<Double>) throws -> Double {
        guard let v = json[field] else { return d }
        guard case let .number(t) = v, let x = Double(t), x.isFinite, x == 0 || x.isNormal, range.contains(x) else {
            throw Self.bad("\(field) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return x
    }

    /// A non-empty list of at most `max` items.
    public func list(_ field: String, max: Int, what: String) throws -> [JSONValue] {
        guard case let .array(items)? = json[field], !items.isEmpty, items.count <= max else { throw Self.bad("\(field) must hold 1...\(max) \(what)") }
        return items
    }

    public static func vector(_ v: JSONValue) throws -> [Float] {
        guard case let .array(items) = v, !items.isEmpty, items.count <= 65536 else { throw bad("an embedding must be an array of numbers") }
        return try items.map {
            guard case let .number(t) = $0, let x = Float(t), x.isFinite else { throw bad("embedding values must be finite numbers") }
            return x
        }
    }
}
