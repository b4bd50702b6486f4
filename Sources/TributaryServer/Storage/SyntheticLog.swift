import TributaryCore
import TributaryLog

extension MetadataStore {
    /// Benchmarks only: appends `count` synthetic entries in one transaction and signs one checkpoint,
    /// to build a large log quickly. Rows go in 500 at a time (one round trip each on PostgreSQL); the
    /// nodes not yet written are read from memory. Outside the public API: only
    /// `@_spi(Benchmarks) import` sees it.
    @_spi(Benchmarks) public func appendSyntheticEntries(_ count: Int) throws {
        do { try appendSynthetic(count) } catch {
            nodeCache.removeAll()
            throw error
        }
    }

    private func appendSynthetic(_ count: Int) throws {
        try db.transaction {
            var index = try db.storedLogSize()
            let pending = PendingNodes(stored: nodes)
            var entries = [SQLValue](), nodeRows = [SQLValue]()
            func flush() throws {
                try insertRows("log_entries (idx, entry, leaf_hash, type)", columns: 4, entries)
                try insertRows("tree_nodes (level, idx, hash)", columns: 3, nodeRows)
                entries.removeAll(keepingCapacity: true)
                nodeRows.removeAll(keepingCapacity: true)
                pending.hashes.removeAll(keepingCapacity: true)
            }
            for i in 0..<count {
                let bytes = LogEntry.enrolment(organisation: "bench\(i)", verifierKey: "synthetic", time: "2026-01-01T00:00:00Z", request: nil).bytes
                let leaf = MerkleHash.leaf(bytes)
                entries += [.int(Int64(index)), .blob(bytes), .blob(leaf), .text("enrolment")]
                for n in try MerkleTree.nodesCompleted(byLeaf: index, leafHash: leaf, store: pending) {
                    nodeRows += [.int(Int64(n.level)), .int(Int64(n.index)), .blob(n.hash)]
                    pending.hashes[NodeKey(level: n.level, index: n.index)] = n.hash
                }
                index += 1
                if entries.count >= 4 * 500 { try flush() }
            }
            try flush()
            let root = try MerkleTree.root(size: index, store: nodes)
            let note = try Checkpoint(origin: origin, size: index, root: root).signed(by: logKey).serialized
            try db.run("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)", [.int(Int64(index)), .blob(root), .text(note)])
            size = index
        }
    }

    /// One multi-row INSERT of `values`, `columns` per row, at most 500 rows.
    private func insertRows(_ table: String, columns: Int, _ values: [SQLValue]) throws {
        let rows = values.count / columns
        guard rows > 0 else { return }
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        for start in stride(from: 0, to: rows, by: 500) {
            let n = min(500, rows - start)
            try db.run("INSERT INTO \(table) VALUES " + Array(repeating: row, count: n).joined(separator: ", "),
                       Array(values[(start * columns)..<((start + n) * columns)]))
        }
    }

    /// The tree's nodes: those not yet inserted from memory, the rest from the database.
    final class PendingNodes: TreeNodeStore {
        let stored: Nodes
        var hashes = [NodeKey: [UInt8]]()
        init(stored: Nodes) { self.stored = stored }
        func node(level: Int, index: UInt64) throws -> [UInt8] {
            if let h = hashes[NodeKey(level: level, index: index)] { return h }
            return try stored.node(level: level, index: index)
        }
    }
}
