/// A JSON document as parsed by `StrictJSONParser`: object members keep their order, numbers keep
/// their literal text so 64-bit integers (safetensors offsets) survive exactly.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            // Keys are unique (the parser refuses duplicates), so member order carries no meaning.
            guard x.count == y.count else { return false }
            var rhs = [String: JSONValue](minimumCapacity: y.count)
            for (k, v) in y { rhs[k] = v }
            return x.allSatisfy { rhs[$0.0] == $0.1 }
        default: return false
        }
    }

    public static func int(_ v: Int) -> JSONValue { .number(String(v)) }
    public static func uint64(_ v: UInt64) -> JSONValue { .number(String(v)) }
    /// Doubles are written in Swift's shortest round-trip form. JSON has no NaN or infinity: a
    /// non-finite value becomes `null` rather than stopping the process (callers that must not emit
    /// one check first).
    public static func double(_ v: Double) -> JSONValue {
        guard v.isFinite else { return .null }
        if v == v.rounded(), abs(v) < 1e15 { return .number(String(Int64(v))) }
        return .number("\(v)")
    }

    /// A double that always reads back as a float in strictly typed consumers (`10000.0`, not `10000`).
    public static func decimal(_ v: Double) -> JSONValue {
        guard v.isFinite else { return .null }
        if v == v.rounded(), abs(v) < 1e15 { return .number("\(Int64(v)).0") }
        return .number("\(v)")
    }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The value as that type, or nil when it is not one (a number that does not fit is not one).
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a } else { return nil } }
    public var uint64Value: UInt64? { if case let .number(t) = self { return UInt64(t) } else { return nil } }
    public var intValue: Int? { if case let .number(t) = self { return Int(t) } else { return nil } }
    public var doubleValue: Double? { if case let .number(t) = self { return Double(t) } else { return nil } }

    public subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }
}
