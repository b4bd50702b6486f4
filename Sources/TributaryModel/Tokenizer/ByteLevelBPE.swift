import Foundation
import TributaryCore

/// Byte-level BPE (GPT-2, as Hugging Face `tokenizers` runs it): each byte of a pre-token is one
/// symbol (its GPT-2 byte-to-unicode character), and adjacent symbols merge by the rank of their
/// pair, lowest first, until no pair has a merge. Symbols are token ids throughout; a byte whose
/// character is not in the vocabulary has no symbol and is dropped, as `tokenizers` drops it (BPE
/// without `unk_token`).
public final class ByteLevelBPE: @unchecked Sendable {
    /// Token id of each byte's character, -1 when the vocabulary lacks it.
    public let byteToken: [Int32]
    /// (left id, right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Pre-tokens seen before, with their ids (`tokenizers` caches the same way).
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private let cacheLimit = 1 << 16

    /// GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to
    /// themselves, the others to U+0100 upwards in byte order.
    public static let byteToUnicode: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7e) + Array(0xa1...0xac) + Array(0xae...0xff)
        var out = [Unicode.Scalar](repeating: " ", count: 256)
        var next = 256
        for b in 0..<256 {
            if printable.contains(b) {
                out[b] = Unicode.Scalar(UInt32(b))!
            } else {
                out[b] = Unicode.Scalar(UInt32(next))!
                next += 1
            }
        }
        printable.removeAll()
        return out
    }()

    public static let unicodeToByte: [UInt32: UInt8] = {
        var m = [UInt32: UInt8]()
        for (b, s) in byteToUnicode.enumerated() { m[s.value] = UInt8(b) }
        return m
    }()

    /// `vocab`: token string → id; `merges`: pairs in rank order (their merged string must be in the vocabulary).
    public init(vocab: [String: Int32], merges pairs: [(String, String)]) throws {
        byteToken = Self.byteToUnicode.map { vocab[String(Character($0))] ?? -1 }
        var m = [UInt64: (rank: Int32, merged: Int32)](minimumCapacity: pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b], let im = vocab[a + b] else {
                throw TributaryError("tokenizer.invalid", "merge \(rank) (\(a.debugDescription) \(b.debugDescription)) names a token the vocabulary lacks")
            }
            let key = UInt64(UInt32(bitPattern: ia)) << 32 | UInt64(UInt32(bitPattern: ib))
            if m[key] == nil { m[key] = (Int32(rank), im) }
        }
        merges = m
    }

    /// The ids of one pre-token, given as its UTF-8 bytes.
    public func encode(word: ArraySlice<UInt8>) -> [Int32] {
        let key = Array(word)
        if let hit = cacheLock.withLock({ cache[key] }) { return hit }
        var symbols = [Int32]()
        symbols.reserveCapacity(word.count)
        for b in word where byteToken[Int(b)] >= 0 { symbols.append(byteToken[Int(b)]) }
        // Merge the lowest-ranked adjacent pair until none is left (ties: the leftmost).
        while symbols.count > 1 {
            var best = -1, bestRank = Int32.max, merged: Int32 = 0
            for i in 0..<symbols.count - 1 {
                let key = UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))
                if let m = merges[key], m.rank < bestRank { best = i; bestRank = m.rank; merged = m.merged }
            }
            guard best >= 0 else { break }
            // Every occurrence of that pair, left to right, as the reference merges a rank at a time.
            let a = symbols[best], b = symbols[best + 1]
            var out = [Int32]()
            out.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == a && symbols[i + 1] == b {
                    out.append(merged)
                    i += 2
                } else {
                    out.append(symbols[i])
                    i += 1
                }
            }
            symbols = out
        }
        cacheLock.withLock {
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = symbols
        }
        return symbols
    }
}
