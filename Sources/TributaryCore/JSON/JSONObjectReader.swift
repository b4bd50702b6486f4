/// A field of a JSON document failed its schema; `path` says where (`predicate.routing.epsilon`).
public struct JSONSchemaError: Error, Equatable, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
}

/// Reads a JSON object field by field against a fixed schema and refuses keys nobody asked for.
///
/// Signed documents must not carry fields a verifier ignores: an ignored field is one an attacker
/// can use to make two parties read the same bytes differently.
public struct JSONObjectReader {
    public let path: String
    private let members: [String: JSONValue]
    private let order: [String]
    private var used = Set<String>()

    public init(_ value: JSONValue, path: String) throws(JSONSchemaError) {
        guard case let .object(m) = value else {
            throw JSONSchemaError(path: path, problem: "expected an object, found \(value.typeName)")
        }
        self.path = path
        var dict = [String: JSONValue]()
        for (k, v) in m { dict[k] = v }
        self.members = dict
        self.order = m.map(\.0)
    }

    private func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public mutating func optionalValue(_ key: String) -> JSONValue? {
        used.insert(key)
        return members[key]
    }

    public mutating func value(_ key: String) throws(JSONSchemaError) -> JSONValue {
        guard let v = optionalValue(key) else { throw JSONSchemaError(path: sub(key), problem: "missing") }
        return v
    }

    public mutating func string(_ key: String) throws(JSONSchemaError) -> String {
        let v = try value(key)
        guard case let .string(s) = v else { throw typeError(key, "string", v) }
        return s
    }

    /// A short label — a recipe, mechanism, dtype or tensor name: 1 to `maxBytes` printable ASCII
    /// characters without spaces. Free text in a statement ends in a log entry every auditor reads
    /// forever; a label cannot carry 64 KB there.
    public mutating func label(_ key: String, maxBytes: Int = 64) throws(JSONSchemaError) -> String {
        let s = try string(key)
        guard (1...maxBytes).contains(s.utf8.count), s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw JSONSchemaError(path: "\(path).\(key)", problem: "must be 1 to \(maxBytes) printable ASCII characters without spaces")
        }
        return s
    }

    public mutating func optionalString(_ key: String) throws(JSONSchemaError) -> String? {
        guard let v = optionalValue(key), v != .null else { return nil }
        guard case let .string(s) = v else { throw typeError(key, "string", v) }
        return s
    }

    public mutating func bool(_ key: String) throws(JSONSchemaError) -> Bool {
        let v = try value(key)
        guard case let .bool(b) = v else { throw typeError(key, "boolean", v) }
        return b
    }

    /// An integer within `range`; fractions, exponents and out-of-range values are schema errors.
    public mutating func int(_ key: String, in range: ClosedRange<Int> = 0...Int.max) throws(JSONSchemaError) -> Int {
        let v = try value(key)
        guard case let .number(text) = v else { throw typeError(key, "integer", v) }
        guard let n = Int(text) else { throw JSONSchemaError(path: sub(key), problem: "expected an integer, found \(text)") }
        guard range.contains(n) else { throw JSONSchemaError(path: sub(key), problem: "\(n) is outside \(range)") }
        return n
    }

    /// An integer within `range`, or nil when the key is absent or `null`.
    public mutating func optionalInt(_ key: String, in range: ClosedRange<Int> = 0...Int.max) throws(JSONSchemaError) -> Int? {
        guard let v = optionalValue(key), v != .null else { return nil }
        return try int(key, in: range)
    }

    public mutating func optionalBool(_ key: String) throws(JSONSchemaError) -> Bool? {
        guard let v = optionalValue(key), v != .null else { return nil }
        guard case let .bool(b) = v else { throw typeError(key, "boolean", v) }
        return b
    }

    public mutating func double(_ key: String) throws(JSONSchemaError) -> Double {
        let v = try value(key)
        guard case let .number(text) = v, let d = Double(text), d.isFinite else { throw typeError(key, "number", v) }
        return d
    }

    public mutating func optionalDouble(_ key: String) throws(JSONSchemaError) -> Double? {
        guard let v = optionalValue(key), v != .null else { return nil }
        guard case let .number(text) = v, let d = Double(text), d.isFinite else { throw typeError(key, "number", v) }
        return d
    }

    public mutating func object(_ key: String) throws(JSONSchemaError) -> JSONObjectReader {
        try JSONObjectReader(try value(key), path: sub(key))
    }

    public mutating func array(_ key: String) throws(JSONSchemaError) -> [JSONValue] {
        let v = try value(key)
        guard case let .array(items) = v else { throw typeError(key, "array", v) }
        return items
    }

    /// Call last: fails on any key the schema did not read.
    public func finish() throws(JSONSchemaError) {
        for k in order where !used.contains(k) {
            throw JSONSchemaError(path: sub(k), problem: "unknown field")
        }
    }

    private func typeError(_ key: String, _ expected: String, _ v: JSONValue) -> JSONSchemaError {
        JSONSchemaError(path: sub(key), problem: "expected \(expected), found \(v.typeName)")
    }
}

extension JSONValue {
    /// Integer array (tensor shapes), each element checked non-negative.
    public func intArray(path: String) throws(JSONSchemaError) -> [Int] {
        guard case let .array(items) = self else {
            throw JSONSchemaError(path: path, problem: "expected an array of integers, found \(typeName)")
        }
        var out = [Int]()
        for (i, item) in items.enumerated() {
            guard case let .number(t) = item, let n = Int(t), n >= 0 else {
                throw JSONSchemaError(path: "\(path)[\(i)]", problem: "expected a non-negative integer")
            }
            out.append(n)
        }
        return out
    }
}
