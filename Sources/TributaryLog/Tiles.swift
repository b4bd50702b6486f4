import TributaryCore

/// Tile arithmetic of C2SP tlog-tiles over RFC 6962 trees: which tiles a tree of a given size has,
/// what a tile holds, entry bundles, and the tree rebuilt from tiles by a client that reads nothing else.
public enum Tiles {
    /// An entry bundle prefixes each entry with a big-endian uint16 length: no entry may be longer.
    public static let maxEntrySize = Int(UInt16.max)

    /// Refuses an entry an entry bundle cannot hold (before anything is written that would need it).
    public static func checkEntrySize(_ entry: [UInt8]) throws(TileError) {
        guard entry.count <= maxEntrySize else { throw .entryTooLarge(entry.count) }
    }

    /// How many hashes tile `index` of tree level `treeLevel` holds in a tree of `treeSize` leaves:
    /// 256 for a full tile, 1…255 for the partial one (`floor(s / 256^l) mod 256`), 0 if it does not exist.
    public static func width(treeLevel: Int, index: UInt64, treeSize: UInt64) -> Int {
        guard treeLevel < 64 else { return 0 }
        let nodes = treeSize >> UInt64(treeLevel)   // complete subtrees of that height
        let (first, overflow) = index.multipliedReportingOverflow(by: UInt64(TilePath.fullWidth))
        guard !overflow, nodes > first else { return 0 }
        return Int(min(UInt64(TilePath.fullWidth), nodes - first))
    }

    /// Whether a tree of `treeSize` holds `path`: a tile may be asked for at any width up to what
    /// the tree has (a partial tile of an earlier checkpoint is a prefix of today's), a full tile
    /// only once it is full.
    public static func available(_ path: TilePath, treeSize: UInt64) -> Bool {
        path.width <= width(treeLevel: path.treeLevel, index: path.index, treeSize: treeSize)
    }

    /// The first leaf (or node at the tile's level) a tile covers.
    public static func firstNode(_ path: TilePath) -> UInt64 { path.index * UInt64(TilePath.fullWidth) }

    /// The bytes of hash tile `path` from a store holding the tree's complete subtrees.
    public static func hashTile<S: TreeNodeStore>(_ path: TilePath, store: S) throws -> [UInt8] {
        try store.nodes(level: path.treeLevel, start: firstNode(path), count: path.width).flatMap { $0 }
    }

    // MARK: Entry bundles

    public static func encodeBundle(_ entries: [[UInt8]]) throws(TileError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(entries.reduce(0) { $0 + 2 + $1.count })
        for e in entries {
            try checkEntrySize(e)
            out += [UInt8(e.count >> 8), UInt8(e.count & 0xff)] + e
        }
        return out
    }

    /// Exactly `count` length-prefixed entries, nothing after them.
    public static func decodeBundle(_ bytes: [UInt8], count: Int) throws(TileError) -> [[UInt8]] {
        var out = [[UInt8]](), i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { throw .malformed("entry bundle ends inside a length") }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
            guard i + n <= bytes.count else { throw .malformed("entry bundle ends inside an entry") }
            out.append(Array(bytes[i..<i + n]))
            i += n
        }
        guard out.count == count else { throw .malformed("entry bundle holds \(out.count) entries, expected \(count)") }
        return out
    }

    /// Splits a hash tile's bytes into its `width` hashes.
    public static func hashes(_ bytes: [UInt8], width: Int) throws(TileError) -> [[UInt8]] {
        guard bytes.count == width * MerkleHash.size else {
            throw .malformed("hash tile of \(bytes.count) bytes, expected \(width) hashes of \(MerkleHash.size)")
        }
        return (0..<width).map { Array(bytes[$0 * MerkleHash.size..<($0 + 1) * MerkleHash.size]) }
    }
}

/// A node of the tree: the hash of leaves [index·2^level, (index+1)·2^level).
public struct TreeNodeID: Hashable, Sendable {
    public let level: Int
    public let index: UInt64
}

/// Records which nodes a computation reads, answering each with a placeholder. What a proof reads
/// depends on the tree sizes alone, never on hash values, so a dry run tells a client reading tiles
/// which tiles to fetch before it computes the proof for real.
public final class NodeRecorder: TreeNodeStore, @unchecked Sendable {
    public private(set) var nodes = Set<TreeNodeID>()
    public init() {}
    public func node(level: Int, index: UInt64) throws -> [UInt8] {
        nodes.insert(TreeNodeID(level: level, index: index))
        return MerkleHash.emptyRoot
    }
}

/// The nodes of a tree of `size` leaves rebuilt from its tiles: a node of height 8·L + r is the
/// root of 2^r consecutive hashes of a level-L tile.
public final class TileTree: TreeNodeStore, @unchecked Sendable {
    public let size: UInt64
    private var tiles = [TilePath: [[UInt8]]]()

    public init(size: UInt64) { self.size = size }

    /// The tile holding the hashes `node` is built from, at the width this tree has.
    public func tile(for node: TreeNodeID) -> TilePath? {
        let level = node.level / TilePath.height, r = node.level % TilePath.height
        guard level <= TilePath.maxLevel, node.index <= UInt64.max >> UInt64(r) else { return nil }
        let first = node.index << UInt64(r)
        let index = first / UInt64(TilePath.fullWidth)
        let w = Tiles.width(treeLevel: level * TilePath.height, index: index, treeSize: size)
        guard w > 0, Int(first % UInt64(TilePath.fullWidth)) + (1 << r) <= w else { return nil }
        return TilePath(kind: .hashes(level: level), index: index, width: w)
    }

    /// The tiles needed to answer every node in `nodes`.
    public func tiles(for nodes: Set<TreeNodeID>) throws -> Set<TilePath> {
        var out = Set<TilePath>()
        for n in nodes {
            guard let t = tile(for: n) else { throw MerkleTreeError.badRange("node (\(n.level), \(n.index)) is not in a tree of size \(size)") }
            out.insert(t)
        }
        return out
    }

    public func add(_ path: TilePath, bytes: [UInt8]) throws(TileError) {
        tiles[path] = try Tiles.hashes(bytes, width: path.width)
    }

    public func node(level: Int, index: UInt64) throws -> [UInt8] {
        let id = TreeNodeID(level: level, index: index)
        guard let path = tile(for: id), let hashes = tiles[path] else { throw MerkleTreeError.missingNode(level, index) }
        let r = level % TilePath.height
        let first = Int((index << UInt64(r)) % UInt64(TilePath.fullWidth))
        var row = Array(hashes[first..<first + (1 << r)])
        while row.count > 1 { row = stride(from: 0, to: row.count, by: 2).map { MerkleHash.node(row[$0], row[$0 + 1]) } }
        return row[0]
    }
}
