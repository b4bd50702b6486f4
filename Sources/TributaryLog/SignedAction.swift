import TributaryCore

/// What a signed request asks (SPEC §11.4): its action and that action's parameters, as one value
/// that clients write and that the server and the auditor's replay read with the same function, so
/// the three can never disagree about what a logged request asked. Reading is strict: a parameter
/// the action does not take is refused (a field one side ignores is one two sides can read apart).
public enum SignedAction: Equatable, Sendable {
    /// The operator enrols an organisation's key.
    case enrol(verifierKey: String)
    /// The operator replaces an organisation's live key.
    case rotateKey(organisation: String, verifierKey: String)
    /// The operator or the key itself revokes a key (with `takedown`, every contribution it signed).
    case revokeKey(KeyRevocationParameters)
    /// An organisation withdraws its contribution at this log index (opt-out).
    case revokeContribution(contribution: UInt64)
    /// The operator takes a contribution down, with a reason of 1 to `maxReasonBytes` bytes.
    case takedown(contribution: UInt64, reason: String)
    /// The operator publishes a release now.
    case publishRelease

    public enum Kind: String, Sendable, CaseIterable {
        case enrol
        case rotateKey = "rotate-key"
        case revokeKey = "revoke-key"
        case revokeContribution = "revoke-contribution"
        case takedown = "takedown-contribution"
        case publishRelease = "publish-release"
    }

    public static let maxReasonBytes = 1000

    public var kind: Kind {
        switch self {
        case .enrol: return .enrol
        case .rotateKey: return .rotateKey
        case .revokeKey: return .revokeKey
        case .revokeContribution: return .revokeContribution
        case .takedown: return .takedown
        case .publishRelease: return .publishRelease
        }
    }

    public var parameters: JSONValue {
        switch self {
        case let .enrol(key): return .object([("verifierKey", .string(key))])
        case let .rotateKey(org, key): return .object([("organisation", .string(org)), ("verifierKey", .string(key))])
        case let .revokeKey(p): return .object([("keyID", .string(p.keyID)), ("organisation", .string(p.organisation)), ("takedown", .bool(p.takedown))])
        case let .revokeContribution(c): return .object([("contribution", .uint64(c))])
        case let .takedown(c, reason): return .object([("contribution", .uint64(c)), ("reason", .string(reason))])
        case .publishRelease: return .object([])
        }
    }

    /// Reads `parameters` as those of `kind`.
    public init(kind: Kind, parameters: JSONValue) throws(RequestError) {
        func fields(_ allowed: [String]) throws(RequestError) {
            guard case let .object(members) = parameters else { throw .malformed("parameters must be an object") }
            for (k, _) in members where !allowed.contains(k) {
                throw .malformed("\(kind.rawValue) takes \(allowed.isEmpty ? "no parameters" : allowed.joined(separator: ", ")), not \(k.debugDescription)")
            }
        }
        func string(_ key: String) throws(RequestError) -> String {
            guard case let .string(s)? = parameters[key] else { throw .malformed("parameters.\(key) is a required string") }
            return s
        }
        func index(_ key: String) throws(RequestError) -> UInt64 {
            guard let n = parameters[key]?.uint64Value else { throw .malformed("parameters.\(key) is a required log index") }
            return n
        }
        switch kind {
        case .enrol:
            try fields(["verifierKey"])
            self = .enrol(verifierKey: try string("verifierKey"))
        case .rotateKey:
            try fields(["organisation", "verifierKey"])
            self = .rotateKey(organisation: try string("organisation"), verifierKey: try string("verifierKey"))
        case .revokeKey:
            self = .revokeKey(try KeyRevocationParameters(parameters))
        case .revokeContribution:
            try fields(["contribution"])
            self = .revokeContribution(contribution: try index("contribution"))
        case .takedown:
            try fields(["contribution", "reason"])
            let reason = try string("reason")
            guard (1...Self.maxReasonBytes).contains(reason.utf8.count) else {
                throw .malformed("parameters.reason must be 1 to \(Self.maxReasonBytes) bytes")
            }
            self = .takedown(contribution: try index("contribution"), reason: reason)
        case .publishRelease:
            try fields([])
            self = .publishRelease
        }
    }
}

extension SignedRequest {
    /// A fresh request asking `action`, signed by `key`, as envelope bytes ready to send.
    public static func make(origin: String, action: SignedAction, key: SigningKey, now: String = Timestamp.nowRFC3339(),
                            nonce: [UInt8] = secureRandomBytes(32)) -> [UInt8] {
        make(origin: origin, action: action.kind.rawValue, parameters: action.parameters, key: key, now: now, nonce: nonce)
    }

    /// What the request asks, read as an action of `kind` (the request must name it).
    public func action(_ kind: SignedAction.Kind) throws(RequestError) -> SignedAction {
        guard action == kind.rawValue else { throw .wrongAction(expected: kind.rawValue, got: action) }
        return try SignedAction(kind: kind, parameters: parameters)
    }
}
