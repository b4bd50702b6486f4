import Testing
import TributaryCore
@testable import TributaryLog

/// C2SP tlog-tiles: names, widths (the spec's own examples), entry bundles, and proofs computed
/// from tiles alone equal to the ones computed from the whole tree, for trees of many sizes.
@Suite struct TileTests {
    @Test func indicesAndPathsAreSpelledAsTheSpecSays() throws {
        #expect(TilePath.encode(index: 1_234_067) == "x001/x234/067")   // the spec's example
        #expect(TilePath.encode(index: 0) == "000")
        #expect(TilePath.encode(index: 5) == "005")
        #expect(TilePath.encode(index: 1000) == "x001/000")
        #expect(TilePath.encode(index: .max) == "x018/x446/x744/x073/x709/x551/615")
        #expect(TilePath(kind: .hashes(level: 0), index: 1_234_067).path == "tile/0/x001/x234/067")
        #expect(TilePath(kind: .hashes(level: 1), index: 0, width: 17).path == "tile/1/000.p/17")
        #expect(TilePath(kind: .entries, index: 1000, width: 255).path == "tile/entries/x001/000.p/255")
        for path in ["tile/0/x001/x234/067", "tile/1/000.p/17", "tile/entries/x001/000.p/255", "tile/63/005",
                     "tile/0/x018/x446/x744/x073/x709/x551/615", "tile/entries/000"] {
            #expect(try TilePath.parse(path).path == path)
            #expect(try TilePath.parse("/" + path).path == path)
        }
        // Every resource has one name: other spellings are refused.
        for bad in ["tile/00/000", "tile/64/000", "tile/x/000", "tile/0/1", "tile/0/0001", "tile/0/x000/005", "tile/0/001/002",
                    "tile/0/000.p/256", "tile/0/000.p/0", "tile/0/000.p/05", "tile/0/000.p", "tile/entries/000.p/",
                    "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
                    "tile/0", "tile//000", "tiles/0/000", "tile/0/000/", "tile/0/+01", "tile/data/000"] {
            #expect(throws: TileError.badPath(bad)) { try TilePath.parse(bad) }
        }
    }

    /// tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    /// level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    /// partial level 2 tile of width 1 ... a tree of size 256 by a full level 0 tile and a partial
    /// level 1 tile of width 1."
    @Test func widthsMatchTheSpecExamples() {
        func widths(_ size: UInt64, level: Int) -> [Int] {
            (0..<300).map { Tiles.width(treeLevel: level * 8, index: $0, treeSize: size) }.filter { $0 > 0 }
        }
        #expect(widths(70_000, level: 0) == Array(repeating: 256, count: 273) + [112])
        #expect(widths(70_000, level: 1) == [256, 17])
        #expect(widths(70_000, level: 2) == [1])
        #expect(widths(70_000, level: 3).isEmpty)
        #expect(widths(256, level: 0) == [256] && widths(256, level: 1) == [1] && widths(256, level: 2).isEmpty)
        #expect(widths(0, level: 0).isEmpty)
        #expect(Tiles.width(treeLevel: 504, index: 0, treeSize: .max) == 0)
        #expect(Tiles.width(treeLevel: 0, index: .max, treeSize: .max) == 0)
        // A partial tile of an earlier size stays available; a full one only once it is full.
        #expect(Tiles.available(TilePath(kind: .hashes(level: 0), index: 0, width: 5), treeSize: 300))
        #expect(!Tiles.available(TilePath(kind: .hashes(level: 0), index: 1), treeSize: 300))
        #expect(!Tiles.available(TilePath(kind: .hashes(level: 0), index: 1, width: 45), treeSize: 300))
    }

    @Test func entryBundlesRoundTripAndRefuseWhatDoesNotFit() throws {
        let entries: [[UInt8]] = [[], [1, 2, 3], [UInt8](repeating: 7, count: Tiles.maxEntrySize)]
        let bundle = try Tiles.encodeBundle(entries)
        #expect(Array(bundle.prefix(7)) == [0, 0, 0, 3, 1, 2, 3] && bundle.count == 2 + 5 + 2 + Tiles.maxEntrySize)
        #expect(try Tiles.decodeBundle(bundle, count: 3) == entries)
        #expect(throws: TileError.entryTooLarge(Tiles.maxEntrySize + 1)) { try Tiles.encodeBundle([[UInt8](repeating: 0, count: Tiles.maxEntrySize + 1)]) }
        #expect(throws: TileError.self) { try Tiles.decodeBundle(Array(bundle.dropLast()), count: 3) }
        #expect(throws: TileError.self) { try Tiles.decodeBundle([0], count: 1) }
        #expect(throws: TileError.self) { try Tiles.decodeBundle(bundle, count: 2) }
        #expect(throws: TileError.self) { try Tiles.hashes([UInt8](repeating: 0, count: 33), width: 1) }
    }

    /// Rebuilds a tree of `size` from tiles cut out of `full` (which may hold more leaves: a tile of
    /// the smaller tree is a prefix of the larger tree's), fetching only what the dry run named.
    func fromTiles<T>(_ full: MemoryTree, size: UInt64, fetched: inout Set<TilePath>,
                      _ body: (any TreeNodeStore) throws -> T) throws -> T {
        let recorder = NodeRecorder()
        _ = try body(recorder)
        let tree = TileTree(size: size)
        for path in try tree.tiles(for: recorder.nodes) {
            #expect(Tiles.available(path, treeSize: size) && path.width == Tiles.width(treeLevel: path.treeLevel, index: path.index, treeSize: size))
            try tree.add(path, bytes: try Tiles.hashTile(path, store: full))
            fetched.insert(path)
        }
        return try body(tree)
    }

    @Test func proofsFromTilesEqualProofsFromTheTree() throws {
        let full = MemoryTree()
        for i in 0..<70_000 { full.append(entry: Array("entry \(i)".utf8)) }
        var rng = SplitMix(seed: 7)
        var sizes: [UInt64] = [1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000]
        sizes += (0..<25).map { _ in 1 + rng.next() % 70_000 }
        var fetched = Set<TilePath>()
        for size in sizes {
            #expect(try fromTiles(full, size: size, fetched: &fetched) { try MerkleTree.root(size: size, store: $0) } == full.root(size: size))
            for index in [0, size / 3, size - 1] {
                let proof = try fromTiles(full, size: size, fetched: &fetched) { try MerkleTree.inclusionProof(index: index, size: size, store: $0) }
                #expect(proof == (try MerkleTree.inclusionProof(index: index, size: size, store: full)), "inclusion \(index) in \(size)")
            }
            for first in [1, size / 2, size - 1, size] where first >= 1 {
                let proof = try fromTiles(full, size: size, fetched: &fetched) { try MerkleTree.consistencyProof(first: first, second: size, store: $0) }
                #expect(proof == (try MerkleTree.consistencyProof(first: first, second: size, store: full)), "consistency \(first) → \(size)")
                #expect(ProofVerification.consistency(first: first, second: size, firstRoot: full.root(size: first), secondRoot: full.root(size: size), proof: proof))
            }
        }
        // Partial tiles of every level were needed along the way.
        #expect((0...2).allSatisfy { level in fetched.contains { $0.kind == .hashes(level: level) && $0.isPartial } })
        // A tile of the wrong size, or a node outside the tree, is refused, not guessed.
        let tree = TileTree(size: 300)
        #expect(throws: TileError.self) { try tree.add(TilePath(kind: .hashes(level: 0), index: 1, width: 44), bytes: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: MerkleTreeError.self) { try tree.tiles(for: [TreeNodeID(level: 9, index: 0)]) }
        #expect(throws: MerkleTreeError.self) { try tree.node(level: 0, index: 0) }
    }
}

/// A tiny deterministic generator for sample sizes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
