import Foundation
import TributaryCore
import TributaryLog

/// What appending one entry produced: its index, the new signed checkpoint and the entry's inclusion
/// proof against it.
public struct AppendResult: Sendable {
    public let index: UInt64
    public let size: UInt64
    public let checkpoint: String
    public let proof: [[UInt8]]
}

/// Appending to the log (one transaction: entry, tree nodes, signed checkpoint) and reading it:
/// checkpoints, entries, proofs and tiles.
extension MetadataStore {
    /// Appends `entry` and signs a checkpoint; `extra` runs in the same transaction (index tables).
    /// Internal, not private: the auditor's tamper tests play a compromised server with it.
    func append(_ entry: LogEntry, extra: (UInt64) throws -> Void) throws -> AppendResult {
        let bytes = entry.bytes
        // Entry bundles (tlog-tiles) give each entry a 16-bit length; refuse before writing anything.
        try Tiles.checkEntrySize(bytes)
        var committed = false
        defer { if !committed { nodeCache.removeAll() } }
        let result: AppendResult = try db.transaction {
            // Read the size inside the (immediate, write-locked) transaction: a local admin tool may
            // have appended since this process last looked.
            let index = try db.storedLogSize()
            let leaf = MerkleHash.leaf(bytes)
            try db.run("INSERT INTO log_entries (idx, entry, leaf_hash, type) VALUES (?, ?, ?, ?)",
                       [.int(Int64(index)), .blob(bytes), .blob(leaf), .text(entry.type)])
            for n in try MerkleTree.nodesCompleted(byLeaf: index, leafHash: leaf, store: nodes) {
                try db.run("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", [.int(Int64(n.level)), .int(Int64(n.index)), .blob(n.hash)])
            }
            try extra(index)
            let newSize = index + 1
            let root = try MerkleTree.root(size: newSize, store: nodes)
            // Never sign a checkpoint inconsistent with the last one.
            if let old = try db.first("SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (size: UInt64($0.int(0)), root: $0.blob(1)) }) {
                let proof = try MerkleTree.consistencyProof(first: old.size, second: newSize, store: nodes)
                guard ProofVerification.consistency(first: old.size, second: newSize, firstRoot: old.root, secondRoot: root, proof: proof) else {
                    throw StoreError.corrupt("new tree of size \(newSize) is not consistent with checkpoint \(old.size)")
                }
            }
            let note = try Checkpoint(origin: origin, size: newSize, root: root).signed(by: logKey).serialized
            try db.run("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)", [.int(Int64(newSize)), .blob(root), .text(note)])
            return AppendResult(index: index, size: newSize, checkpoint: note,
                                proof: try MerkleTree.inclusionProof(index: index, size: newSize, store: nodes))
        }
        committed = true
        size = result.size
        appendsSincePrune += 1
        if appendsSincePrune >= 256 { try? pruneNonces() }
        return result
    }

    public var logSize: UInt64 {
        if let n = try? db.storedLogSize() { size = n }
        return size
    }

    public func checkpoint() throws -> (size: UInt64, note: String)? {
        try db.first("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.text(1)) })
    }

    public func entries(start: UInt64, end: UInt64) throws -> [[UInt8]] {
        try db.query("SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", [.int(Int64(clamping: start)), .int(Int64(clamping: end))]) { $0.blob(0) }
    }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> [[UInt8]] {
        try MerkleTree.inclusionProof(index: index, size: size, store: nodes)
    }

    public func consistencyProof(first: UInt64, second: UInt64) throws -> [[UInt8]] {
        try MerkleTree.consistencyProof(first: first, second: second, store: nodes)
    }

    public func root(size: UInt64) throws -> [UInt8] { try MerkleTree.root(size: size, store: nodes) }

    /// A tlog-tiles resource of the tree at the published checkpoint: nothing beyond what it covers
    /// is served.
    public func tile(_ path: TilePath) throws -> [UInt8] {
        let size = try publishedCheckpoint()?.size ?? 0
        guard Tiles.available(path, treeSize: size) else { throw TileError.notInTree(path.path, size: size) }
        switch path.kind {
        case .entries:
            let first = Tiles.firstNode(path)
            do { return try Tiles.encodeBundle(entries(start: first, end: first + UInt64(path.width))) } catch let e as TileError {
                // Appends refuse such entries; one can only be older than tiles, or written by hand.
                throw StoreError.corrupt("entry bundle \(path.path): \(e.message)")
            }
        case .hashes:
            return try Tiles.hashTile(path, store: nodes)
        }
    }
}
