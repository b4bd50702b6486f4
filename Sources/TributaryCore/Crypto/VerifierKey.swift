import Foundation
/// Key names and key IDs as C2SP signed-note defines them.
public enum KeyName {
    public static let algEd25519: UInt8 = 0x01

    /// C2SP: a name is non-empty, well-formed UTF-8, and contains neither Unicode spaces nor `+`.
    public static func validate(_ name: String) throws(KeyFormatError) {
        guard !name.isEmpty else { throw .invalid("key name is empty") }
        for scalar in name.unicodeScalars {
            if scalar == "+" { throw .invalid("key name \"\(name)\" contains '+'") }
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7f {
                throw .invalid("key name \"\(name)\" contains a space or control character")
            }
        }
    }

    /// SHA-256(name || 0x0A || 0x01 || public key)[:4]; another signature type (a tlog cosignature's
    /// 0x04) puts its own byte in place of 0x01.
    public static func keyID(name: String, publicKey: [UInt8], algorithm: UInt8 = algEd25519) -> [UInt8] {
        var input = Array(name.utf8)
        input.append(0x0a)
        input.append(algorithm)
        input.append(contentsOf: publicKey)
        return Array(SHA256.digest(input).prefix(4))
    }
}

public struct KeyFormatError: CodedError, Equatable {
    public let code = "key.invalid"
    public let message: String
    public static func invalid(_ m: String) -> KeyFormatError { KeyFormatError(message: m) }
}

/// An Ed25519 public key with its name, in the C2SP verifier-key text form
/// `name+hex(keyID)+base64(0x01 || public key)`.
public struct VerifierKey: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
    }

    /// By the name's bytes, not canonical equivalence (`ByteIdentity.swift`).
    public static func == (a: VerifierKey, b: VerifierKey) -> Bool { a.name.sameBytes(b.name) && a.publicKey == b.publicKey }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name.identityBytes)
        hasher.combine(publicKey)
    }

    public var keyID: [UInt8] { KeyName.keyID(name: name, publicKey: publicKey) }
    public var keyIDHex: String { Hex.encode(keyID) }

    public var encoded: String {
        "\(name)+\(keyIDHex)+\(Base64.encode([KeyName.algEd25519] + publicKey))"
    }
    public var description: String { encoded }

    /// Splits on the first two `+` only: the base64 part may contain `+` itself.
    public init(parsing text: String) throws(KeyFormatError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { throw .invalid("verifier key must be name+keyid+key") }
        try KeyName.validate(parts[0])
        guard Hex.isLowerHex(parts[1], byteCount: 4), let id = Hex.decode(parts[1]) else {
            throw .invalid("verifier key ID must be 8 lower-case hex digits")
        }
        guard let raw = Base64.decodeStandard(parts[2]) else { throw .invalid("verifier key is not valid base64") }
        guard raw.count == 33 else { throw .invalid("verifier key must be 33 bytes (algorithm + 32-byte key), got \(raw.count)") }
        guard raw[0] == KeyName.algEd25519 else { throw .invalid("unsupported key algorithm 0x\(Hex.encode([raw[0]]))") }
        self.name = parts[0]
        self.publicKey = Array(raw[1...])
        guard keyID == id else { throw .invalid("verifier key ID \(parts[1]) does not match the key (expected \(keyIDHex))") }
    }

    public func verify(signature: [UInt8], message: UnsafeRawBufferPointer) -> Bool {
        Ed25519.verify(signature: signature, message: message, publicKey: publicKey)
    }

    public func verify<C: Collection>(signature: [UInt8], message: C) -> Bool where C.Element == UInt8 {
        Ed25519.verify(signature: signature, message: message, publicKey: publicKey)
    }
}


/// Organisation names as the protocol accepts them: one spelling each, so two enrolments can never
/// look alike. 1 to 63 characters of lower-case ASCII letters, digits, '.' and '-', starting and
/// ending with a letter or digit (no upper case, no Unicode look-alikes, no spaces).
public enum OrganisationName {
    public static func isCanonical(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...63).contains(b.count) else { return false }
        func alnum(_ c: UInt8) -> Bool { (0x61...0x7a).contains(c) || (0x30...0x39).contains(c) }
        guard alnum(b[0]), alnum(b[b.count - 1]) else { return false }
        return b.allSatisfy { alnum($0) || $0 == 0x2e || $0 == 0x2d }
    }

    public static let rule = "1 to 63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit"
}
