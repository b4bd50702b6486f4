import Foundation
import CSodium

/// Ed25519 through libsodium. Secret key bytes live in one allocation that is wiped on release.
public enum Ed25519 {
    public static let publicKeyLength = 32
    public static let seedLength = 32
    public static let signatureLength = 64

    public static func verify(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == signatureLength, publicKey.count == publicKeyLength else { return false }
        let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // crypto_sign_verify_detached rejects non-canonical and small-order encodings.
        return crypto_sign_verify_detached(signature, base, UInt64(message.count), publicKey) == 0
    }

    public static func verify<C: Collection>(signature: [UInt8], message: C, publicKey: [UInt8]) -> Bool
    where C.Element == UInt8 {
        Array(message).withUnsafeBytes { verify(signature: signature, message: $0, publicKey: publicKey) }
    }
}

/// An Ed25519 private key. The 64-byte libsodium secret key (seed || public key) is held in memory we
/// allocate ourselves and zero with sodium_memzero when the key is released.
public final class SigningKey: @unchecked Sendable {
    public let name: String
    public let publicKey: [UInt8]
    private let secret: UnsafeMutableRawBufferPointer

    /// Derives the key pair from a 32-byte seed. The caller should wipe its copy of the seed.
    public init(name: String, seed: [UInt8]) throws {
        Sodium.ensureReady()
        guard seed.count == Ed25519.seedLength else {
            throw KeyFormatError.invalid("an Ed25519 seed must be 32 bytes, got \(seed.count)")
        }
        try KeyName.validate(name)
        self.name = name
        let sk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        var pk = [UInt8](repeating: 0, count: 32)
        _ = seed.withUnsafeBufferPointer { s in
            crypto_sign_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!)
        }
        secret = sk
        publicKey = pk
    }

    /// A fresh key from libsodium's CSPRNG.
    public static func generate(name: String) throws -> SigningKey {
        var seed = secureRandomBytes(32)
        defer { secureZero(&seed) }
        return try SigningKey(name: name, seed: seed)
    }

    deinit {
        sodium_memzero(secret.baseAddress, secret.count)
        secret.deallocate()
    }

    public var keyID: [UInt8] { KeyName.keyID(name: name, publicKey: publicKey) }
    public var verifierKey: VerifierKey { VerifierKey(name: name, publicKey: publicKey) }

    public func sign(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: 64)
        let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        _ = crypto_sign_detached(&sig, nil, base, UInt64(message.count),
                                 secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
        return sig
    }

    public func sign<C: Collection>(_ message: C) -> [UInt8] where C.Element == UInt8 {
        Array(message).withUnsafeBytes { sign($0) }
    }

    /// The Go `sumdb/note` signer-key text: `PRIVATE+KEY+name+hex(keyID)+base64(0x01 || seed)`.
    /// The returned string holds the secret; write it and drop it.
    public func encodedPrivateKey() -> String {
        var payload: [UInt8] = [KeyName.algEd25519]
        payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: secret[0..<32]))
        defer { secureZero(&payload) }
        return "PRIVATE+KEY+\(name)+\(Hex.encode(keyID))+\(Base64.encode(payload))"
    }

    /// Parses the signer-key text written by `encodedPrivateKey()` (and by Go's `note.GenerateKey`).
    public static func parse(privateKey text: String) throws -> SigningKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw KeyFormatError.invalid("not a private key (expected PRIVATE+KEY+name+keyid+key)")
        }
        let name = parts[2]
        guard Hex.isLowerHex(parts[3], byteCount: 4), let id = Hex.decode(parts[3]) else {
            throw KeyFormatError.invalid("private key ID must be 8 lower-case hex digits")
        }
        guard var raw = Base64.decodeStandard(parts[4]) else {
            throw KeyFormatError.invalid("private key material is not valid base64")
        }
        defer { secureZero(&raw) }
        guard raw.count == 33, raw[0] == KeyName.algEd25519 else {
            throw KeyFormatError.invalid("private key must be 0x01 followed by a 32-byte Ed25519 seed")
        }
        var seed = Array(raw[1...])
        defer { secureZero(&seed) }
        let key = try SigningKey(name: name, seed: seed)
        guard key.keyID == id else { throw KeyFormatError.invalid("private key ID does not match the key") }
        return key
    }
}

