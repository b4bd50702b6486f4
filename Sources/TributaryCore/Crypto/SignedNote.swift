import Foundation

/// C2SP signed notes (`signed-note.md`): UTF-8 text ending in a newline, a blank line, then one line
/// per signature, `— NAME BASE64(keyID || signature)`. Ed25519 signs the text including its final newline.
public struct SignedNote: Equatable, Sendable {
    public struct Signature: Equatable, Sendable {
        public let name: String
        public let keyID: [UInt8]
        public let signature: [UInt8]
        public init(name: String, keyID: [UInt8], signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }
    }

    public let text: String
    public let signatures: [Signature]

    /// Notes larger than this are refused before parsing (the Go implementation uses 1 MB too).
    public static let maxSize = 1_000_000

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    public static func sign(text: String, with key: SigningKey) throws(NoteError) -> SignedNote {
        try checkText(text)
        let sig = key.sign(Array(text.utf8))
        return SignedNote(text: text, signatures: [Signature(name: key.name, keyID: key.keyID, signature: sig)])
    }

    public var serialized: String {
        var out = text + "\n"
        for s in signatures { out += "\u{2014} \(s.name) \(Base64.encode(s.keyID + s.signature))\n" }
        return out
    }

    static func checkText(_ text: String) throws(NoteError) {
        guard text.hasSuffix("\n") else { throw .malformed("text must end with a newline") }
        for scalar in text.unicodeScalars where scalar.value < 0x20 && scalar != "\n" {
            throw .malformed("text contains a control character")
        }
    }

    /// Splits a serialised note at its last blank line and parses the signature lines.
    public static func parse(_ bytes: [UInt8]) throws(NoteError) -> SignedNote {
        guard bytes.count <= maxSize else { throw .malformed("note is larger than \(maxSize) bytes") }
        guard let whole = String(validating: bytes, as: UTF8.self) else { throw .malformed("note is not UTF-8") }
        guard whole.hasSuffix("\n") else { throw .malformed("note must end with a newline") }
        guard let split = whole.range(of: "\n\n", options: .backwards) else { throw .malformed("no blank line before signatures") }
        let text = String(whole[..<split.lowerBound]) + "\n"
        try checkText(text)
        let sigBlock = whole[split.upperBound...]
        var sigs = [Signature]()
        for line in sigBlock.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard line.hasPrefix("\u{2014} ") else { throw .malformed("signature line does not start with an em dash") }
            let rest = line.dropFirst(2)
            let parts = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .malformed("signature line must be '— name base64'") }
            let name = String(parts[0])
            do { try KeyName.validate(name) } catch { throw .malformed(error.message) }
            guard let blob = Base64.decodeStandard(String(parts[1])), blob.count > 4 else {
                throw .malformed("signature of \(name) is not valid base64")
            }
            sigs.append(Signature(name: name, keyID: Array(blob[0..<4]), signature: Array(blob[4...])))
        }
        guard !sigs.isEmpty else { throw .malformed("note has no signatures") }
        return SignedNote(text: text, signatures: sigs)
    }

    /// Verifies against a set of known keys: unknown signers are ignored, a known key whose signature
    /// fails rejects the note, and at least one known key must have signed.
    public func verify(keys: [VerifierKey]) throws(NoteError) -> [VerifierKey] {
        var verified = [VerifierKey]()
        for s in signatures {
            guard let key = keys.first(where: { $0.name.sameBytes(s.name) && $0.keyID == s.keyID }) else { continue }
            guard key.verify(signature: s.signature, message: Array(text.utf8)) else {
                throw .badSignature(s.name)
            }
            verified.append(key)
        }
        guard !verified.isEmpty else { throw .unverified(signatures.map(\.name)) }
        return verified
    }
}

public enum NoteError: CodedError, Equatable {
    case malformed(String)
    case badSignature(String)
    case unverified([String])

    public var code: String {
        switch self {
        case .malformed: return "note.malformed"
        case .badSignature: return "note.bad_signature"
        case .unverified: return "note.unknown_signer"
        }
    }

    public var message: String {
        switch self {
        case let .malformed(why): return "signed note is malformed: \(why)"
        case let .badSignature(name): return "signature by \(name) does not verify"
        case let .unverified(names): return "no signature from a known key (signed by: \(names.joined(separator: ", ")))"
        }
    }
}

