import TributaryCore

/// A C2SP tlog-checkpoint (`tlog-checkpoint.md`): the note text
///     <origin>\n<tree size, decimal>\n<base64 root hash>\n[extension lines]
/// signed as a C2SP signed note by a key whose name is the origin.
public struct Checkpoint: Equatable, Sendable {
    public let origin: String
    public let size: UInt64
    public let root: [UInt8]
    public let extensions: [String]

    public init(origin: String, size: UInt64, root: [UInt8], extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// A size in decimal without leading zeroes (`0` alone for zero): how checkpoints, tiles and
    /// witnesses write sizes, so every number has one spelling.
    public static func canonicalSize(_ s: some StringProtocol) -> UInt64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), s == "0" || !s.hasPrefix("0") else { return nil }
        return UInt64(s)
    }

    /// By the note text's bytes: an origin is an identity (`ByteIdentity.swift`).
    public static func == (a: Checkpoint, b: Checkpoint) -> Bool { a.text.sameBytes(b.text) }

    public var text: String {
        "\(origin)\n\(size)\n\(Base64.encode(root))\n" + extensions.map { $0 + "\n" }.joined()
    }

    public func signed(by key: SigningKey) throws -> SignedNote {
        guard key.name.sameBytes(origin) else { throw CheckpointError.originMismatch(expected: origin, key: key.name) }
        return try SignedNote.sign(text: text, with: key)
    }

    public static func parse(text: String) throws(CheckpointError) -> Checkpoint {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "" else { throw .malformed("checkpoint text must end with a newline") }
        lines.removeLast()
        guard lines.count >= 3 else { throw .malformed("checkpoint needs origin, size and root lines") }
        guard !lines[0].isEmpty else { throw .malformed("empty origin") }
        let s = lines[1]
        guard let size = Checkpoint.canonicalSize(s) else {
            throw .malformed("tree size \"\(s)\" is not a canonical decimal")
        }
        guard let root = Base64.decodeStandard(lines[2]), root.count == MerkleHash.size else {
            throw .malformed("root hash is not 32 bytes of base64")
        }
        for ext in lines[3...] where ext.isEmpty { throw .malformed("empty extension line") }
        return Checkpoint(origin: lines[0], size: size, root: root, extensions: Array(lines[3...]))
    }

    /// Parses and verifies a signed checkpoint against the log's verifier key (whose name must be the origin).
    public static func verify(note bytes: [UInt8], key: VerifierKey) throws -> Checkpoint {
        let note = try SignedNote.parse(bytes)
        _ = try note.verify(keys: [key])
        let cp = try parse(text: note.text)
        guard cp.origin.sameBytes(key.name) else { throw CheckpointError.originMismatch(expected: key.name, key: cp.origin) }
        return cp
    }
}

public enum CheckpointError: CodedError, Equatable {
    case malformed(String)
    case originMismatch(expected: String, key: String)

    public var code: String {
        switch self {
        case .malformed: return "checkpoint.malformed"
        case .originMismatch: return "checkpoint.wrong_origin"
        }
    }

    public var message: String {
        switch self {
        case let .malformed(why): return "checkpoint is malformed: \(why)"
        case let .originMismatch(expected, key): return "checkpoint origin \"\(key)\" is not the log's \"\(expected)\""
        }
    }
}
