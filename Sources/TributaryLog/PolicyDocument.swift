import TributaryCore

/// The server's contribution policy as it is logged: a DSSE envelope, payload type
/// `application/vnd.tributary.policy+json`, signed by the log key, over
/// `{"origin", "anchor": {"sha256"}, "policy": {...}}`. Served at `GET /v1/policy`.
public struct PolicyDocument: Equatable, Sendable {
    public static let payloadType = "application/vnd.tributary.policy+json"

    public let origin: String
    public let anchorSHA256: String
    public let policy: ContributionPolicy

    public init(origin: String, anchorSHA256: String, policy: ContributionPolicy) {
        self.origin = origin
        self.anchorSHA256 = anchorSHA256
        self.policy = policy
    }

    public var json: JSONValue {
        .object([("origin", .string(origin)), ("anchor", .object([("sha256", .string(anchorSHA256))])), ("policy", policy.json)])
    }

    public func signed(by key: SigningKey) -> [UInt8] {
        DSSEEnvelope.sign(payload: JSONWriter.serialize(json), payloadType: Self.payloadType, key: key).serialized()
    }

    /// Verifies the envelope under the log key and parses the document.
    public static func verify(_ envelopeBytes: [UInt8], key: VerifierKey) throws -> PolicyDocument {
        let env = try DSSEEnvelope.parse(envelopeBytes)
        guard env.isSigned(by: key) else { throw LogError.badEntry("policy signature does not verify under the log key") }
        guard env.payloadType == payloadType else { throw LogError.badEntry("policy has payload type \(env.payloadType)") }
        do {
            var r = try JSONObjectReader(try StrictJSONParser.parse(env.payload), path: "policy document")
            let origin = try r.string("origin")
            var a = try r.object("anchor")
            let anchor = try a.string("sha256")
            try a.finish()
            let policy = try ContributionPolicy(json: try r.value("policy"))
            try r.finish()
            return PolicyDocument(origin: origin, anchorSHA256: anchor, policy: policy)
        } catch let e as JSONSchemaError {
            throw LogError.badEntry(e.description)
        } catch let e as StrictJSONParser.Failure {
            throw LogError.badEntry(e.description)
        }
    }
}
