import TributaryCore

/// `GET /v1/contributions/{index}` and `GET /v1/contributions?statementSHA256`: one logged
/// contribution, its files' digests, its declared privacy and whether it was withdrawn.
public struct ContributionAnswer: Sendable, Equatable {
    public let logIndex: UInt64
    public let organisation: String
    public let keyID: String
    /// The full key that signed it (key IDs are only hints).
    public let verifierKey: String
    public let statementSHA256: String
    public let envelopeSHA256: String
    public let expertSHA256: String
    public let routingSHA256: String
    /// The statement's privacy object as the owner declared it (`null` when it is not JSON).
    public let privacy: JSONValue
    /// Log index of the owner's opt-out.
    public let revokedAt: UInt64?
    /// Log index of the operator's takedown, or of the compromised key's revocation.
    public let takenDownAt: UInt64?

    public init(logIndex: UInt64, organisation: String, keyID: String, verifierKey: String, statementSHA256: String, envelopeSHA256: String,
                expertSHA256: String, routingSHA256: String, privacy: JSONValue, revokedAt: UInt64?, takenDownAt: UInt64?) {
        self.logIndex = logIndex
        self.organisation = organisation
        self.keyID = keyID
        self.verifierKey = verifierKey
        self.statementSHA256 = statementSHA256
        self.envelopeSHA256 = envelopeSHA256
        self.expertSHA256 = expertSHA256
        self.routingSHA256 = routingSHA256
        self.privacy = privacy
        self.revokedAt = revokedAt
        self.takenDownAt = takenDownAt
    }

    /// In releases: neither withdrawn nor taken down.
    public var isLive: Bool { revokedAt == nil && takenDownAt == nil }

    public var json: JSONValue {
        .object([
            ("logIndex", .uint64(logIndex)), ("organisation", .string(organisation)), ("keyID", .string(keyID)),
            ("verifierKey", .string(verifierKey)),
            ("statementSHA256", .string(statementSHA256)), ("envelopeSHA256", .string(envelopeSHA256)),
            ("files", .object([(BundleLayout.expertFile, .string(expertSHA256)), (BundleLayout.routingFile, .string(routingSHA256))])),
            ("privacy", privacy),
            ("revokedAt", revokedAt.map { .uint64($0) } ?? .null),
            ("takenDownAt", takenDownAt.map { .uint64($0) } ?? .null),
        ])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "contribution answer")
        let files = try AnswerReader(try r.value("files"), answer: "contribution answer's files")
        self.init(logIndex: try r.uint64("logIndex"), organisation: try r.string("organisation"), keyID: try r.string("keyID"),
                  verifierKey: try r.string("verifierKey"), statementSHA256: try r.string("statementSHA256"),
                  envelopeSHA256: try r.string("envelopeSHA256"), expertSHA256: try files.string(BundleLayout.expertFile),
                  routingSHA256: try files.string(BundleLayout.routingFile), privacy: try r.value("privacy"),
                  revokedAt: try r.optionalUInt64("revokedAt"), takenDownAt: try r.optionalUInt64("takenDownAt"))
    }
}

/// The answer to every signed request that appends one log entry (opt-out, takedown, enrolment,
/// rotation, key revocation): where it was logged and the proof that a checkpoint includes it.
public struct AppendAnswer: Sendable, Equatable {
    public let logIndex: UInt64
    public let treeSize: UInt64
    /// The signed note of a checkpoint of size `treeSize`.
    public let checkpoint: String
    public let inclusionProof: [[UInt8]]

    public init(logIndex: UInt64, treeSize: UInt64, checkpoint: String, inclusionProof: [[UInt8]]) {
        self.logIndex = logIndex
        self.treeSize = treeSize
        self.checkpoint = checkpoint
        self.inclusionProof = inclusionProof
    }

    public var json: JSONValue {
        .object([("logIndex", .uint64(logIndex)), ("treeSize", .uint64(treeSize)), ("checkpoint", .string(checkpoint)),
                 ("inclusionProof", .base64Array(inclusionProof))])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "append answer")
        self.init(logIndex: try r.uint64("logIndex"), treeSize: try r.uint64("treeSize"), checkpoint: try r.string("checkpoint"),
                  inclusionProof: try r.hashes("inclusionProof"))
    }
}
