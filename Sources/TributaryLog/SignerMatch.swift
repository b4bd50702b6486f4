import TributaryCore

/// Which enrolled key signed an envelope (SPEC §5.2, §7.3): one rule for the server's contribution
/// check, its signed requests and the auditor's replay. Key IDs are 4-byte hints, so several keys
/// enrolled under one organisation may share one; the signer is the first of them under which the
/// envelope verifies, and only a live key (neither revoked nor replaced by a rotation) may sign.
public enum SignerMatch<Key> {
    /// A live key that verifies the envelope.
    case live(Key)
    /// The key verifies the envelope but was revoked or replaced.
    case notLive(Key)
    /// Keys are enrolled under the name and ID, and the envelope verifies under none of them.
    case noneVerifies
    /// No key is enrolled under the name and ID.
    case notEnrolled

    /// `candidates`: the keys enrolled under the organisation and key ID the signature names.
    public init(_ candidates: [Key], envelope: DSSEEnvelope, verifierKey: (Key) -> VerifierKey, isLive: (Key) -> Bool) {
        guard !candidates.isEmpty else {
            self = .notEnrolled
            return
        }
        guard let k = candidates.first(where: { envelope.isSigned(by: verifierKey($0)) }) else {
            self = .noneVerifies
            return
        }
        self = isLive(k) ? .live(k) : .notLive(k)
    }

    /// The key that verifies the envelope, live or not.
    public var signer: Key? {
        switch self {
        case let .live(k), let .notLive(k): return k
        case .noneVerifies, .notEnrolled: return nil
        }
    }
}
