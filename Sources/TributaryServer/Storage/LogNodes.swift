import Foundation
import TributaryCore
import TributaryLog

/// The Merkle tree's stored nodes (`tree_nodes`): a `TreeNodeStore` over the database, with a cache
/// of nodes already read (a committed node never changes).
extension MetadataStore {
    struct Nodes: TreeNodeStore {
        let db: any SQLDatabase
        var cache: NodeCache?
        func node(level: Int, index: UInt64) throws -> [UInt8] {
            if let h = cache?.hashes[NodeKey(level: level, index: index)] { return h }
            guard let h = try db.first("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", [.int(Int64(level)), .int(Int64(index))], { $0.blob(0) }) else {
                throw MerkleTreeError.missingNode(level, index)
            }
            cache?.insert(NodeKey(level: level, index: index), h)
            return h
        }

        func nodes(level: Int, start: UInt64, count: Int) throws -> [[UInt8]] {
            let rows = try db.query("SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
                                    [.int(Int64(level)), .int(Int64(clamping: start)), .int(Int64(clamping: start + UInt64(count)))]) {
                (index: UInt64($0.int(0)), hash: $0.blob(1))
            }
            for (i, r) in rows.enumerated() where r.index != start + UInt64(i) { throw MerkleTreeError.missingNode(level, start + UInt64(i)) }
            guard rows.count == count else { throw MerkleTreeError.missingNode(level, start + UInt64(rows.count)) }
            return rows.map(\.hash)
        }
    }

    var nodes: Nodes { Nodes(db: db, cache: nodeCache) }
}

struct NodeKey: Hashable {
    let level: Int
    let index: UInt64
}

/// Bounded: emptied when full (the nodes near the tree's right edge, which appends and recent
/// proofs read, come back at once).
final class NodeCache {
    private(set) var hashes = [NodeKey: [UInt8]]()
    static let capacity = 1 << 18

    func insert(_ key: NodeKey, _ hash: [UInt8]) {
        if hashes.count >= Self.capacity { hashes.removeAll(keepingCapacity: true) }
        hashes[key] = hash
    }

    func removeAll() { hashes.removeAll() }
}
