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
    /// Pre-tokens seen before, with their ids (`tokenizers` caches the same way, and like it only
    /// pre-tokens of at most `cacheableBytes`: 65,536 random 64 KB words would otherwise hold 4 GB).
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private let cacheLimit = 1 << 16
    static let cacheableBytes = 256

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
        let key = Array(word), cacheable = word.count <= Self.cacheableBytes
        if cacheable, let hit = cacheLock.withLock({ cache[key] }) { return hit }
        var symbols = [Int32]()
        symbols.reserveCapacity(word.count)
        for b in word where byteToken[Int(b)] >= 0 { symbols.append(byteToken[Int(b)]) }
        let out = symbols.count > 1 ? mergeAll(symbols) : symbols
        if cacheable {
            cacheLock.withLock {
                if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[key] = out
            }
        }
        return out
    }

    private func merge(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Merges as `tokenizers` does (`Word::merge_all`): the symbols form a linked list, every adjacent
    /// pair with a merge waits in a min-heap ordered by (rank, position), and the top is merged unless
    /// it went stale (one of its symbols merged since, or the pair there changed); then the pairs it
    /// forms with its neighbours are pushed. O(n log n) in the pre-token's length: a rescan of every
    /// pair per merge was O(n²), and 64 KB of random letters — one pre-token — took seconds.
    private func mergeAll(_ initial: [Int32]) -> [Int32] {
        var symbol = initial
        let n = symbol.count
        var next = Array(1...n), prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        for i in 0..<(n - 1) {
            if let m = merge(symbol[i], symbol[i + 1]) { heap.push(.init(rank: m.rank, position: i, merged: m.merged)) }
        }
        while let top = heap.pop() {
            let i = top.position
            guard alive[i], next[i] < n else { continue }
            let j = next[i]
            // Stale: the pair at `i` is no longer the one this entry was pushed for.
            guard let m = merge(symbol[i], symbol[j]), m.merged == top.merged, m.rank == top.rank else { continue }
            symbol[i] = m.merged
            alive[j] = false
            next[i] = next[j]
            if next[i] < n { prev[next[i]] = i }
            if prev[i] >= 0, let left = merge(symbol[prev[i]], symbol[i]) {
                heap.push(.init(rank: left.rank, position: prev[i], merged: left.merged))
            }
            if next[i] < n, let right = merge(symbol[i], symbol[next[i]]) {
                heap.push(.init(rank: right.rank, position: i, merged: right.merged))
            }
        }
        var out = [Int32]()
        var i = 0
        while i < n {
            out.append(symbol[i])
            i = next[i]
        }
        return out
    }
}

/// A binary min-heap of candidate merges, lowest rank first and, among equal ranks, leftmost first.
struct PairHeap {
    struct Entry {
        let rank: Int32
        let position: Int
        let merged: Int32
        func precedes(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }

    private var items = [Entry]()

    mutating func push(_ e: Entry) {
        items.append(e)
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard items[c].precedes(items[p]) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count && items[l].precedes(items[m]) { m = l }
                if r < items.count && items[r].precedes(items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return top
    }
}
