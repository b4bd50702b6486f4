import Foundation
import TributaryCore
import TributaryLog

/// A log read through its C2SP tlog-tiles resources only: entries from entry bundles, roots and
/// RFC 9162 proofs computed here from hash tiles, so a static mirror or a CDN serves everything an
/// auditor needs. Each computation first runs dry (`NodeRecorder`) to learn which nodes it reads,
/// fetches the tiles holding them, then runs for real on the tree they rebuild.
public struct TileLogReader: Sendable {
    public let fetchTile: @Sendable (TilePath) async throws -> [UInt8]

    public init(fetchTile: @escaping @Sendable (TilePath) async throws -> [UInt8]) { self.fetchTile = fetchTile }

    /// Tiles from a server's (or mirror's) `/tile/...` resources.
    public init(client: TributaryClient) {
        fetchTile = { try await client.send(.GET, "/" + $0.path, limit: TilePath.fullWidth * (2 + Tiles.maxEntrySize)).body }
    }

    /// Entries [start, end) of a tree of at least `end` leaves, read from entry bundles at the
    /// widths a tree of exactly `end` leaves has (a checkpoint's size, so its partial bundle exists).
    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        guard start <= end else { throw MerkleTreeError.badRange("start \(start) is above end \(end)") }
        var out = [[UInt8]]()
        let full = UInt64(TilePath.fullWidth)
        var bundle = start / full
        while bundle * full < end {
            let width = Tiles.width(treeLevel: 0, index: bundle, treeSize: end)
            let path = TilePath(kind: .entries, index: bundle, width: width)
            let entries = try Tiles.decodeBundle(try await fetchTile(path), count: width)
            let first = bundle * full
            out += entries[Int(max(start, first) - first)..<width]
            bundle += 1
        }
        return out
    }

    public func root(size: UInt64) async throws -> [UInt8] {
        try await compute(size: size) { try MerkleTree.root(size: size, store: $0) }
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] {
        try await compute(size: size) { try MerkleTree.inclusionProof(index: index, size: size, store: $0) }
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]] {
        try await compute(size: second) { try MerkleTree.consistencyProof(first: first, second: second, store: $0) }
    }

    private func compute<T>(size: UInt64, _ body: (any TreeNodeStore) throws -> T) async throws -> T {
        let recorder = NodeRecorder()
        _ = try body(recorder)
        let tree = TileTree(size: size)
        for path in try tree.tiles(for: recorder.nodes) { try tree.add(path, bytes: try await fetchTile(path)) }
        return try body(tree)
    }
}
