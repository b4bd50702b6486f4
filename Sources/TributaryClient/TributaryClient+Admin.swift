import TributaryAPI
import TributaryCore
import TributaryLog

/// The operator's requests (enrolment, rotation, takedown, releases), key revocation, and what the
/// server publishes about keys and policy.
extension TributaryClient {
    public func enrol(_ key: VerifierKey, operatorKey: SigningKey, origin: String? = nil) async throws -> AppendAnswer {
        try await append(APIPath.enrolments, .enrol(verifierKey: key.encoded), key: operatorKey, origin: origin)
    }

    /// The operator replaces an organisation's key.
    public func rotateKey(organisation: String, to key: VerifierKey, operatorKey: SigningKey, origin: String? = nil) async throws -> AppendAnswer {
        try await append(APIPath.rotations, .rotateKey(organisation: organisation, verifierKey: key.encoded), key: operatorKey, origin: origin)
    }

    /// Revokes a key, signed by the operator or by the key itself; `takedown` also takes down every
    /// contribution it signed (a compromised key).
    public func revokeKey(_ keyID: String, organisation: String, takedown: Bool, key: SigningKey, origin: String? = nil) async throws -> AppendAnswer {
        try await append(APIPath.keyRevocation(keyID), .revokeKey(KeyRevocationParameters(keyID: keyID, organisation: organisation, takedown: takedown)),
                         key: key, origin: origin)
    }

    /// The operator takes a contribution down, with a reason.
    public func takeDown(_ index: UInt64, reason: String, operatorKey: SigningKey, origin: String? = nil) async throws -> AppendAnswer {
        try await append(APIPath.contributionTakedown(index), .takedown(contribution: index, reason: reason), key: operatorKey, origin: origin)
    }

    public func publishRelease(operatorKey: SigningKey, origin: String? = nil) async throws -> ReleaseAnswer {
        try ReleaseAnswer(json: try await postBytes(APIPath.releases, try await request(.publishRelease, key: operatorKey, origin: origin)))
    }

    public func keys() async throws -> KeysAnswer { try KeysAnswer(json: try await getJSON(APIPath.keys)) }

    public func policy() async throws -> PolicyAnswer { try PolicyAnswer(json: try await getJSON(APIPath.policy)) }
}
