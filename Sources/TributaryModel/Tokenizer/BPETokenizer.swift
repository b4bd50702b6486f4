import TributaryCore

/// A Hugging Face byte-level BPE tokenizer (GPT-2 family: SmolLM2, Llama 3, Qwen, OLMo), run as the
/// `tokenizers` library runs it with no normalizer:
///
/// 1. special (added) tokens are cut out of the raw text first, leftmost-longest, and become their ids;
/// 2. the rest is pre-tokenized (`PreTokenizer`: digits one by one, then GPT-2's pattern);
/// 3. each piece's UTF-8 bytes are merged by rank (`ByteLevelBPE`).
///
/// Decoding maps tokens back to bytes and reads them as UTF-8, replacing invalid sequences with
/// U+FFFD (as `tokenizers` does). Text that is not valid UTF-8 is read with the same replacement
/// before encoding: `tokenizers` only accepts Unicode strings.
public final class BPETokenizer: @unchecked Sendable {
    public struct SpecialToken: Sendable, Equatable {
        public let id: Int32
        public let content: String
        public init(id: Int32, content: String) {
            self.id = id
            self.content = content
        }
    }

    /// id → token string (GPT-2 byte characters for ordinary tokens).
    public let tokens: [String]
    public let ids: [String: Int32]
    public let merges: [(String, String)]
    public let specials: [SpecialToken]
    public let preTokenizer: PreTokenizer
    let bpe: ByteLevelBPE
    /// Specials by their first UTF-8 byte, longest first, for the leftmost-longest cut.
    private let specialsByFirstByte: [UInt8: [(bytes: [UInt8], id: Int32)]]
    private let specialIDs: Set<Int32>
    /// Bytes of each token when decoded (specials: their content).
    private let tokenBytes: [[UInt8]]

    public var vocabSize: Int { tokens.count }
    /// The longest token's bytes (81 for SmolLM2: a newline and 80 spaces).
    public let maxTokenBytes: Int
    /// `<|endoftext|>` when the vocabulary has it (GPT-2, SmolLM2, Qwen), else the first special token.
    public var documentBoundary: Int32 { ids["<|endoftext|>"] ?? specials.first?.id ?? 0 }

    public init(tokens: [String], merges: [(String, String)], specials: [SpecialToken], individualDigits: Bool) throws {
        guard !tokens.isEmpty, tokens.count <= Int(Int32.max) else { throw TributaryError("tokenizer.invalid", "the vocabulary is empty") }
        var ids = [String: Int32](minimumCapacity: tokens.count)
        for (i, t) in tokens.enumerated() {
            guard ids.updateValue(Int32(i), forKey: t) == nil else {
                throw TributaryError("tokenizer.invalid", "token \(t.debugDescription) appears twice in the vocabulary")
            }
        }
        for s in specials {
            guard s.id >= 0, Int(s.id) < tokens.count, tokens[Int(s.id)] == s.content, !s.content.isEmpty else {
                throw TributaryError("tokenizer.invalid", "added token \(s.content.debugDescription) (id \(s.id)) is not that entry of the vocabulary")
            }
        }
        self.tokens = tokens
        self.ids = ids
        self.merges = merges
        self.specials = specials
        preTokenizer = PreTokenizer(individualDigits: individualDigits)
        bpe = try ByteLevelBPE(vocab: ids, merges: merges)
        var byFirst = [UInt8: [(bytes: [UInt8], id: Int32)]]()
        for s in specials { let b = Array(s.content.utf8); byFirst[b[0], default: []].append((b, s.id)) }
        specialsByFirstByte = byFirst.mapValues { $0.sorted { $0.bytes.count > $1.bytes.count } }
        specialIDs = Set(specials.map(\.id))
        let specialContent = Dictionary(specials.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a })
        tokenBytes = tokens.enumerated().map { i, t in
            if let s = specialContent[Int32(i)] { return Array(s.utf8) }
            // Ordinary tokens are GPT-2 byte characters; anything else in them has no byte and is dropped.
            return t.unicodeScalars.compactMap { ByteLevelBPE.unicodeToByte[$0.value] }
        }
        maxTokenBytes = max(1, tokenBytes.map(\.count).max() ?? 1)
    }

    public func id(of token: String) -> Int32? { ids[token] }

    /// The ids of `text`.
    public func encode(_ text: String) -> [Int32] {
        var out = [Int32]()
        let utf8 = Array(text.utf8)
        out.reserveCapacity(utf8.count / 3 + 1)
        var start = 0, i = 0
        while i < utf8.count {
            if let candidates = specialsByFirstByte[utf8[i]],
               let hit = candidates.first(where: { i + $0.bytes.count <= utf8.count && utf8[i..<i + $0.bytes.count].elementsEqual($0.bytes) }) {
                if start < i { encodeOrdinary(utf8[start..<i], into: &out) }
                out.append(hit.id)
                i += hit.bytes.count
                start = i
            } else {
                i += 1
            }
        }
        if start < utf8.count { encodeOrdinary(utf8[start..<utf8.count], into: &out) }
        return out
    }

    /// The ids of raw bytes: invalid UTF-8 is replaced by U+FFFD first, one per maximal invalid
    /// subsequence, as Python's `bytes.decode("utf-8", "replace")` and Swift's decoder both do.
    public func encode(bytes: some Collection<UInt8>) -> [Int32] { encode(String(decoding: bytes, as: UTF8.self)) }

    /// Text between special tokens: pre-tokenize, then BPE each piece.
    private func encodeOrdinary(_ utf8: ArraySlice<UInt8>, into out: inout [Int32]) {
        let scalars = Array(String(decoding: utf8, as: UTF8.self).unicodeScalars)
        var piece = [UInt8]()
        for r in preTokenizer.split(scalars) {
            piece.removeAll(keepingCapacity: true)
            for s in scalars[r] { piece.append(contentsOf: UTF8.encode(s)!) }
            out.append(contentsOf: bpe.encode(word: piece[...]))
        }
    }

    /// The bytes of `ids` (specials included unless `skipSpecial`); ids outside the vocabulary are skipped.
    public func decodeBytes(_ ids: some Sequence<Int32>, skipSpecial: Bool = true) -> [UInt8] {
        var out = [UInt8]()
        for id in ids where id >= 0 && Int(id) < tokenBytes.count {
            if skipSpecial && specialIDs.contains(id) { continue }
            out.append(contentsOf: tokenBytes[Int(id)])
        }
        return out
    }

    public func decode(_ ids: some Sequence<Int32>, skipSpecial: Bool = true) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    public func isSpecial(_ id: Int32) -> Bool { specialIDs.contains(id) }
}
