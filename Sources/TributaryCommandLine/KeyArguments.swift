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
