import Foundation
import TributaryCore

/// A witness's Ed25519 cosigning key (C2SP tlog-cosignature, signature type 0x04), written as the
/// verifier key `name+hex(keyID)+base64(0x04 || public key)` with key ID
/// SHA-256(name || "\n" || 0x04 || public key)[:4]. The private half is an ordinary signing key.
public struct CosignerKey: Hashable, Sendable, CustomStringConvertible {
    public static let algorithm: UInt8 = 0x04
    public let name: String
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    public init(signingKey: SigningKey) { self.init(name: signingKey.name, publicKey: signingKey.publicKey) }

    public var keyID: [UInt8] { KeyName.keyID(name: name, publicKey: publicKey, algorithm: Self.algorithm) }
    public var encoded: String { "\(name)+\(Hex.encode(keyID))+\(Base64.encode([Self.algorithm] + publicKey))" }
    public var description: String { encoded }

    public init(parsing text: String) throws(KeyFormatError) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { throw .invalid("cosigner key must be name+keyid+key") }
        try KeyName.validate(parts[0])
        guard Hex.isLowerHex(parts[1], byteCount: 4), let id = Hex.decode(parts[1]) else { throw .invalid("cosigner key ID must be 8 lower-case hex digits") }
        guard let raw = Base64.decodeStandard(parts[2]), raw.count == 33 else { throw .invalid("cosigner key must be 33 bytes of base64 (type + 32-byte key)") }
        guard raw[0] == Self.algorithm else {
            throw .invalid("cosigner key has type 0x\(Hex.encode([raw[0]])); a tlog cosignature key has type 0x04 (`tributary witness vkey` prints it)")
        }
        self.init(name: parts[0], publicKey: Array(raw[1...]))
        guard keyID == id else { throw .invalid("cosigner key ID \(parts[1]) does not match the key (expected \(Hex.encode(keyID)))") }
    }
}

/// Ed25519 cosignatures (`tlog-cosignature.md`): the signature line's bytes are keyID(4) ||
/// timestamp(8, big-endian) || Ed25519 signature(64) over
///     "cosignature/v1\ntime <timestamp>\n" || the checkpoint's note text.
/// A cosignature says: as of that time, this is the largest consistent tree the witness has seen.
public enum Cosignature {
    public static func message(text: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8)
    }

    public static func sign(text: String, time: UInt64, key: SigningKey) -> SignedNote.Signature {
        precondition(time <= UInt64(Int64.max))
        let stamp = (0..<8).map { UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64($0))) }
        let cosigner = CosignerKey(signingKey: key)
        return SignedNote.Signature(name: key.name, keyID: cosigner.keyID, signature: stamp + key.sign(message(text: text, time: time)))
    }

    /// The serialised signature line, as a witness answers it.
    public static func line(_ s: SignedNote.Signature) -> String {
        "\u{2014} \(s.name) \(Base64.encode(s.keyID + s.signature))\n"
    }

    /// Valid cosignatures on `note` by `keys`, one per key, with their times. Signatures by other
    /// names or key IDs are ignored (the log's own, unknown witnesses); a line that claims a known
    /// key and does not verify is an error, as in signed-note verification.
    public static func verify(_ note: SignedNote, keys: [CosignerKey]) throws(NoteError) -> [(key: CosignerKey, time: UInt64)] {
        var out = [(key: CosignerKey, time: UInt64)]()
        for s in note.signatures {
            guard let key = keys.first(where: { $0.name.sameBytes(s.name) && $0.keyID == s.keyID }), !out.contains(where: { $0.key == key }) else { continue }
            guard s.signature.count == 72 else { throw .badSignature(s.name) }
            let time = s.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard time <= UInt64(Int64.max),
                  Ed25519.verify(signature: Array(s.signature.suffix(64)), message: message(text: note.text, time: time), publicKey: key.publicKey) else {
                throw .badSignature(s.name)
            }
            out.append((key, time))
        }
        return out
    }
}

/// How many of which witnesses must have cosigned a checkpoint before anyone trusts it.
public struct WitnessPolicy: Sendable {
    public let witnesses: [CosignerKey]
    public let quorum: Int

    public init(witnesses: [CosignerKey], quorum: Int) throws(WitnessPolicyError) {
        guard Set(witnesses.map(\.name.identityBytes)).count == witnesses.count else { throw .invalid("two witnesses share a name") }
        // One key under two names would count twice towards the quorum.
        guard Set(witnesses.map(\.publicKey)).count == witnesses.count else { throw .invalid("two witnesses share a public key") }
        guard quorum >= 1, quorum <= witnesses.count else {
            throw .invalid("a quorum of \(quorum) cannot be met by \(witnesses.count) witness(es)")
        }
        self.witnesses = witnesses
        self.quorum = quorum
    }

    /// The checkpoint `note` (already verified under the log key) against the policy: the cosigners
    /// and the checkpoint's time, the latest time by which `quorum` witnesses had all seen it (the
    /// quorum-th newest cosignature).
    public func check(_ note: SignedNote) throws -> (cosigners: [String], time: UInt64) {
        let valid = try Cosignature.verify(note, keys: witnesses)
        guard valid.count >= quorum else {
            throw WitnessPolicyError.unmet(have: valid.map(\.key.name), need: quorum, of: witnesses.map(\.name))
        }
        return (valid.map(\.key.name), valid.map(\.time).sorted(by: >)[quorum - 1])
    }
}

public enum WitnessPolicyError: CodedError, Equatable {
    case invalid(String)
    case unmet(have: [String], need: Int, of: [String])

    public var code: String {
        switch self {
        case .invalid: return "witness.bad_policy"
        case .unmet: return "witness.quorum_unmet"
        }
    }

    public var message: String {
        switch self {
        case let .invalid(why): return "witness policy: \(why)"
        case let .unmet(have, need, of):
            return "the checkpoint carries valid cosignatures from \(have.count) of the required \(need) witnesses (\(have.isEmpty ? "none" : have.joined(separator: ", ")) of \(of.joined(separator: ", ")))"
        }
    }
}
