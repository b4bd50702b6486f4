import CLibCrypto
import Foundation

/// ECDSA over NIST P-256 with SHA-256 (FIPS 186-5; signatures DER-encoded, RFC 3279 §2.2.3), through
/// OpenSSL's EVP interface. Tributary's own signatures are Ed25519; this key exists for the one format
/// that cannot take Ed25519: OpenSSF model signing's key mode is ECDSA only (`ModelSigningSignature`).
/// Keys travel as PEM: PKCS #8 for the private key, SubjectPublicKeyInfo for the public key.
public final class P256PrivateKey: @unchecked Sendable {
    fileprivate let pkey: OpaquePointer

    private init(pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    public static func generate() throws -> P256PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw P256.failure("EVP_PKEY_CTX_new_from_name(EC)") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
              EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw P256.failure("P-256 key generation") }
        return P256PrivateKey(pkey: key)
    }

    /// Reads a PEM private key (PKCS #8 or SEC 1 "EC PRIVATE KEY"); refuses encrypted keys (no prompt),
    /// other key types and other curves.
    public init(pem: [UInt8]) throws {
        let key = try P256.read(pem, what: "private key") { bio in
            PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil)
        }
        try P256.requireP256(key, what: "private key")
        pkey = key
    }

    /// The private key as PKCS #8 PEM.
    public func pem() throws -> [UInt8] {
        try P256.writePEM(what: "private key") { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }

    public func publicKey() throws -> P256PublicKey {
        try P256PublicKey(pem: try P256.writePEM(what: "public key") { PEM_write_bio_PUBKEY($0, pkey) })
    }

    /// DER-encoded ECDSA signature of SHA-256(message). Randomised (OpenSSL's nonces), so two
    /// signatures of one message differ; both verify.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw P256.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, EVP_sha256(), nil, pkey) == 1 else { throw P256.failure("EVP_DigestSignInit") }
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else { throw P256.failure("EVP_DigestSign (length)") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1 else { throw P256.failure("EVP_DigestSign") }
        return Array(signature.prefix(length))
    }
}

public final class P256PublicKey: @unchecked Sendable {
    fileprivate let pkey: OpaquePointer
    /// SubjectPublicKeyInfo PEM as OpenSSL writes it (64-character lines, uncompressed point): the bytes
    /// model signing's key hint hashes, so it is rewritten here rather than kept as read.
    public let pem: [UInt8]

    public init(pem input: [UInt8]) throws {
        let key = try P256.read(input, what: "public key") { PEM_read_bio_PUBKEY($0, nil, { _, _, _, _ in -1 }, nil) }
        do {
            try P256.requireP256(key, what: "public key")
            pem = try P256.writePEM(what: "public key") { PEM_write_bio_PUBKEY($0, key) }
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        pkey = key
    }

    deinit { EVP_PKEY_free(pkey) }

    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx); ERR_clear_error() }
        guard EVP_DigestVerifyInit(ctx, nil, EVP_sha256(), nil, pkey) == 1 else { return false }
        return EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
    }
}

enum P256 {
    static func failure(_ what: String) -> TributaryError {
        let code = ERR_get_error()
        ERR_clear_error()
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return TributaryError("key.p256_failed", "\(what) failed (OpenSSL: \(String(cString: text)))")
    }

    static func read(_ pem: [UInt8], what: String, _ body: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer {
        guard pem.count <= 1 << 16 else { throw TributaryError("key.invalid", "the P-256 \(what) file is over 64 KiB; not a PEM key") }
        let key: OpaquePointer? = pem.withUnsafeBytes { buf in
            guard let bio = BIO_new_mem_buf(buf.baseAddress, Int32(buf.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
        guard let key else {
            ERR_clear_error()
            throw TributaryError("key.invalid", "not a PEM \(what) OpenSSL can read (an ECDSA P-256 key, unencrypted, is expected)")
        }
        return key
    }

    static func requireP256(_ key: OpaquePointer, what: String) throws {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_is_a(key, "EC") == 1, EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
            ERR_clear_error()
            throw TributaryError("key.wrong_type", "the \(what) is not an elliptic-curve key; ECDSA P-256 is expected")
        }
        let curve = String(cString: name)
        guard curve == "prime256v1" || curve == "P-256" else {
            throw TributaryError("key.wrong_type", "the \(what) is on curve \(curve); P-256 (prime256v1) is expected")
        }
    }

    static func writePEM(what: String, _ body: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("BIO_new") }
        defer { BIO_free(bio) }
        guard body(bio) == 1 else { throw failure("writing the \(what) as PEM") }
        var data: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data)
        guard length > 0, let data else { throw failure("reading the PEM \(what) back") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }
}
