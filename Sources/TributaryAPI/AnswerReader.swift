import TributaryCore

/// Reads a server's JSON answer field by field. Unknown fields are ignored (a newer server may add
/// some); a missing or mistyped field is `client.bad_response`, naming the endpoint and the field.
public struct AnswerReader {
    public let json: JSONValue
    let answer: String

    /// `answer` names what is read, for the error ("the /v1/score answer").
    public init(_ json: JSONValue, answer: String) throws {
        guard case .object = json else { throw TributaryError("client.bad_response", "the \(answer) is not a JSON object") }
        self.json = json
        self.answer = answer
    }

    public func bad(_ field: String) -> TributaryError { TributaryError("client.bad_response", "the \(answer) has no valid \(field)") }

    public func value(_ field: String) throws -> JSONValue {
        guard let v = json[field] else { throw bad(field) }
        return v
    }

    public func string(_ field: String) throws -> String {
        guard let s = json[field]?.stringValue else { throw bad(field) }
        return s
    }

    public func int(_ field: String) throws -> Int {
        guard let n = json[field]?.intValue else { throw bad(field) }
        return n
    }

    public func uint64(_ field: String) throws -> UInt64 {
        guard let n = json[field]?.uint64Value else { throw bad(field) }
        return n
    }

    public func double(_ field: String) throws -> Double {
        guard let x = json[field]?.doubleValue else { throw bad(field) }
        return x
    }

    public func bool(_ field: String) throws -> Bool {
        guard case let .bool(b)? = json[field] else { throw bad(field) }
        return b
    }

    /// A field that is absent or `null` when there is nothing to say (a live key's `revokedAt`).
    public func optionalUInt64(_ field: String) throws -> UInt64? {
        guard let v = json[field], v != .null else { return nil }
        guard let n = v.uint64Value else { throw bad(field) }
        return n
    }

    public func optionalString(_ field: String) throws -> String? {
        guard let v = json[field], v != .null else { return nil }
        guard let s = v.stringValue else { throw bad(field) }
        return s
    }

    public func array(_ field: String) throws -> [JSONValue] {
        guard case let .array(items)? = json[field] else { throw bad(field) }
        return items
    }

    /// Base64 SHA-256 hashes (proofs, leaf hashes).
    public func hashes(_ field: String) throws -> [[UInt8]] {
        try array(field).map { v in
            guard let s = v.stringValue, let b = Base64.decodeStandard(s), b.count == 32 else { throw bad(field) }
            return b
        }
    }

    public func hash(_ field: String) throws -> [UInt8] {
        guard let s = json[field]?.stringValue, let b = Base64.decodeStandard(s), b.count == 32 else { throw bad(field) }
        return b
    }
}

extension JSONValue {
    /// Hashes as the API writes them: a list of standard Base64 strings.
    public static func base64Array(_ hashes: [[UInt8]]) -> JSONValue { .array(hashes.map { .string(Base64.encode($0)) }) }
}
