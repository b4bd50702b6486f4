import TributaryCore

/// One resource of a C2SP tlog-tiles log (`tlog-tiles.md`): a tile of Merkle tree hashes,
///     tile/<L>/<N>[.p/<W>]
/// or an entry bundle,
///     tile/entries/<N>[.p/<W>]
/// N written as zero-padded 3-digit path elements, all but the last prefixed with `x`
/// (1234067 → x001/x234/067); `.p/<W>` only for a partial tile of W (1…255) hashes or entries.
public struct TilePath: Hashable, Sendable {
    /// Hashes (and entries) in a full tile, and the tree height one tile spans.
    public static let fullWidth = 256
    public static let height = 8
    public static let maxLevel = 63

    public enum Kind: Hashable, Sendable {
        /// Hashes of tree level 8·L (level 0: leaf hashes).
        case hashes(level: Int)
        /// The log entries themselves, each prefixed by its length as a big-endian uint16.
        case entries
    }

    public let kind: Kind
    public let index: UInt64
    /// 1…256; 256 is a full tile (no `.p/` suffix).
    public let width: Int

    public init(kind: Kind, index: UInt64, width: Int = TilePath.fullWidth) {
        if case let .hashes(level) = kind { precondition((0...Self.maxLevel).contains(level), "tile level \(level)") }
        precondition((1...Self.fullWidth).contains(width), "tile width \(width)")
        self.kind = kind
        self.index = index
        self.width = width
    }

    public var isPartial: Bool { width < Self.fullWidth }

    /// The tree level of the hashes in this tile (0 for entry bundles, whose entries hash to level 0).
    public var treeLevel: Int {
        if case let .hashes(level) = kind { return level * Self.height }
        return 0
    }

    public var path: String {
        let head: String
        switch kind {
        case let .hashes(level): head = "tile/\(level)/"
        case .entries: head = "tile/entries/"
        }
        return head + Self.encode(index: index) + (isPartial ? ".p/\(width)" : "")
    }

    /// 1234067 → "x001/x234/067"; 5 → "005".
    public static func encode(index: UInt64) -> String {
        var groups = [String]()
        var n = index
        repeat {
            let g = String(n % 1000)
            groups.append(String(repeating: "0", count: 3 - g.count) + g)
            n /= 1000
        } while n > 0
        return groups.reversed().enumerated().map { i, g in i == groups.count - 1 ? g : "x" + g }.joined(separator: "/")
    }

    /// Parses a path as served (with or without a leading slash). Anything else, including
    /// non-canonical spellings (leading zeroes in L or W, missing `x`, a full width written as `.p/256`),
    /// is refused: every resource has exactly one name.
    public static func parse(_ text: String) throws(TileError) -> TilePath {
        var parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "" { parts.removeFirst() }
        guard parts.count >= 3, parts[0] == "tile" else { throw .badPath(text) }
        let kind: Kind
        if parts[1] == "entries" {
            kind = .entries
        } else {
            guard let level = canonicalDecimal(parts[1]), level <= maxLevel else { throw .badPath(text) }
            kind = .hashes(level: level)
        }
        var rest = Array(parts[2...])
        var width = fullWidth
        if rest.count >= 2, rest[rest.count - 2].hasSuffix(".p") {
            guard let w = canonicalDecimal(rest[rest.count - 1]), (1..<fullWidth).contains(w) else { throw .badPath(text) }
            width = w
            rest.removeLast()
            rest[rest.count - 1].removeLast(2)
        }
        // At most 7 groups: 10^21 > UInt64.max, and every group but the last starts with x.
        guard !rest.isEmpty, rest.count <= 7 else { throw .badPath(text) }
        var index: UInt64 = 0
        for (i, group) in rest.enumerated() {
            var digits = Substring(group)
            if i < rest.count - 1 {
                guard digits.first == "x" else { throw .badPath(text) }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let g = UInt64(digits) else { throw .badPath(text) }
            let (m, o1) = index.multipliedReportingOverflow(by: 1000)
            let (s, o2) = m.addingReportingOverflow(g)
            guard !o1, !o2 else { throw .badPath(text) }
            index = s
        }
        // Canonical: no leading all-zero groups (x000/005 is 005).
        guard rest.count == 1 || !rest[0].dropFirst().allSatisfy({ $0 == "0" }) else { throw .badPath(text) }
        return TilePath(kind: kind, index: index, width: width)
    }

    private static func canonicalDecimal(_ s: String) -> Int? {
        guard s.count <= 3, let n = Checkpoint.canonicalSize(s) else { return nil }
        return Int(n)
    }
}

public enum TileError: CodedError, Equatable {
    case badPath(String)
    case notInTree(String, size: UInt64)
    case malformed(String)
    case entryTooLarge(Int)

    public var code: String {
        switch self {
        case .badPath: return "tile.bad_path"
        case .notInTree: return "tile.not_found"
        case .malformed: return "tile.malformed"
        case .entryTooLarge: return "log.entry_too_large"
        }
    }

    public var message: String {
        switch self {
        case let .badPath(p): return "\"\(p)\" is not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])"
        case let .notInTree(p, size): return "\(p) is not in the log of size \(size)"
        case let .malformed(why): return "tile is malformed: \(why)"
        case let .entryTooLarge(n): return "a log entry of \(n) bytes does not fit an entry bundle (at most \(Tiles.maxEntrySize))"
        }
    }
}
