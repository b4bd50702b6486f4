import TributaryCore

/// The answer to `GET /v1/log/key`: the log's origin (the checkpoint's first line, which statements
/// and signed requests must name) and the key its checkpoints are signed with. Trust on first use:
/// a client that can should pin the key instead (`--log-key`).
public struct LogKeyAnswer: Sendable, Equatable {
    public let origin: String
    public let verifierKey: VerifierKey

    public init(origin: String, verifierKey: VerifierKey) {
        self.origin = origin
        self.verifierKey = verifierKey
    }

    public var json: JSONValue { .object([("origin", .string(origin)), ("verifierKey", .string(verifierKey.encoded))]) }

    public init(json: JSONValue) throws {
        guard let origin = json["origin"]?.stringValue, LogOrigin.isValid(origin) else {
            throw TributaryError("client.bad_response", "the server did not give a valid log origin")
        }
        guard let key = json["verifierKey"]?.stringValue, let parsed = try? VerifierKey(parsing: key) else {
            throw TributaryError("client.bad_response", "the server did not give a valid log key")
        }
        self.init(origin: origin, verifierKey: parsed)
    }
}
