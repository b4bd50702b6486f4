import Foundation
import TributaryCore

// Keys given on the command line: public keys literally or as files, private keys only as files
// other users cannot read.

/// A public key's text, given either literally (`name+id+key`) or as a path to a file holding it.
public func keyText(_ argument: String) throws -> String {
    guard FileManager.default.fileExists(atPath: argument) else { return argument }
    return String(decoding: try readSmallFile(argument, limit: 4096, noFollow: false), as: UTF8.self)
}

/// Reads a verifier key given either literally (`name+id+key`) or as a path to a file holding one.
public func loadVerifierKey(_ argument: String) throws -> VerifierKey {
    try VerifierKey(parsing: try keyText(argument))
}

/// Reads a private key file, refusing files other users can read.
public func loadSigningKey(_ path: String) throws -> SigningKey {
    var bytes = try readSecretFile(path)
    defer { secureZero(&bytes) }
    return try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
}

/// Reads an ECDSA P-256 public key from a PEM file (the operator's release key for OpenSSF model signing).
public func loadP256PublicKey(_ path: String) throws -> P256PublicKey {
    try P256PublicKey(pem: try readSmallFile(path, limit: 1 << 16, noFollow: false))
}

/// Reads an ECDSA P-256 private key from a PEM file other users cannot read.
public func loadP256PrivateKey(_ path: String) throws -> P256PrivateKey {
    var bytes = try readSecretFile(path)
    defer { secureZero(&bytes) }
    return try P256PrivateKey(pem: bytes)
}
