import TributaryCore

/// An organisation's enrolled key as the log records it: the server's row and the `/v1/keys` item.
public struct EnrolledKey: Sendable, Equatable {
    public let keyID: String
    public let organisation: String
    public let verifierKey: VerifierKey
    public let enrolledAt: UInt64
    /// Log index of the rotation that replaced it.
    public let retiredAt: UInt64?
    public let revokedAt: UInt64?
    /// May sign new contributions and requests.
    public var isLive: Bool { retiredAt == nil && revokedAt == nil }

    public init(keyID: String, organisation: String, verifierKey: VerifierKey, enrolledAt: UInt64, retiredAt: UInt64?, revokedAt: UInt64?) {
        self.keyID = keyID
        self.organisation = organisation
        self.verifierKey = verifierKey
        self.enrolledAt = enrolledAt
        self.retiredAt = retiredAt
        self.revokedAt = revokedAt
    }

    public var json: JSONValue {
        .object([("keyID", .string(keyID)), ("organisation", .string(organisation)),
                 ("verifierKey", .string(verifierKey.encoded)), ("enrolledAt", .uint64(enrolledAt)),
                 ("retiredAt", retiredAt.map { .uint64($0) } ?? .null),
                 ("revokedAt", revokedAt.map { .uint64($0) } ?? .null)])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/keys answer's key")
        guard let key = try? VerifierKey(parsing: try r.string("verifierKey")) else { throw r.bad("verifierKey") }
        self.init(keyID: try r.string("keyID"), organisation: try r.string("organisation"), verifierKey: key,
                  enrolledAt: try r.uint64("enrolledAt"), retiredAt: try r.optionalUInt64("retiredAt"), revokedAt: try r.optionalUInt64("revokedAt"))
    }
}

/// `GET /v1/keys`: every enrolled key, live or not, in enrolment order.
public struct KeysAnswer: Sendable, Equatable {
    public let keys: [EnrolledKey]

    public init(keys: [EnrolledKey]) { self.keys = keys }

    public var json: JSONValue { .object([("keys", .array(keys.map(\.json)))]) }

    public init(json: JSONValue) throws {
        self.init(keys: try AnswerReader(json, answer: "/v1/keys answer").array("keys").map(EnrolledKey.init(json:)))
    }
}

/// `GET /v1/policy`: what the server accepts, the logged policy document it was read from, and the
/// anchor and log key everything is checked against.
public struct PolicyAnswer: Sendable, Equatable {
    public let policy: ContributionPolicy
    public let anchorSHA256: String
    public let origin: String
    /// The logged policy document's bytes (its entry is at `logIndex`).
    public let document: [UInt8]
    public let logIndex: UInt64
    public let maxUploadBytes: UInt64
    public let expertsPerToken: Int
    /// The anchor's bits per byte on the public probe (the greedy-routing check's reference).
    public let probeBitsPerByte: Double
    public let logKey: VerifierKey

    public init(policy: ContributionPolicy, anchorSHA256: String, origin: String, document: [UInt8], logIndex: UInt64, maxUploadBytes: UInt64,
                expertsPerToken: Int, probeBitsPerByte: Double, logKey: VerifierKey) {
        self.policy = policy
        self.anchorSHA256 = anchorSHA256
        self.origin = origin
        self.document = document
        self.logIndex = logIndex
        self.maxUploadBytes = maxUploadBytes
        self.expertsPerToken = expertsPerToken
        self.probeBitsPerByte = probeBitsPerByte
        self.logKey = logKey
    }

    public var json: JSONValue {
        .object([
            ("policy", policy.json), ("anchor", .object([("sha256", .string(anchorSHA256))])),
            ("origin", .string(origin)),
            ("document", .string(Base64.encode(document))), ("logIndex", .uint64(logIndex)),
            ("maxUploadBytes", .uint64(maxUploadBytes)), ("expertsPerToken", .int(expertsPerToken)),
            ("probeBitsPerByte", .double(probeBitsPerByte)),
            ("logKey", .string(logKey.encoded)),
        ])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/policy answer")
        guard let policy = try? ContributionPolicy(json: try r.value("policy")) else { throw r.bad("policy") }
        guard let document = Base64.decodeStandard(try r.string("document")) else { throw r.bad("document") }
        guard let key = try? VerifierKey(parsing: try r.string("logKey")) else { throw r.bad("logKey") }
        self.init(policy: policy, anchorSHA256: try AnswerReader(try r.value("anchor"), answer: "/v1/policy answer's anchor").string("sha256"),
                  origin: try r.string("origin"), document: document, logIndex: try r.uint64("logIndex"),
                  maxUploadBytes: try r.uint64("maxUploadBytes"), expertsPerToken: try r.int("expertsPerToken"),
                  probeBitsPerByte: try r.double("probeBitsPerByte"), logKey: key)
    }
}
