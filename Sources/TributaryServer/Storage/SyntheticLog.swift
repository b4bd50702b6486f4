import TributaryCore
import TributaryLog

extension MetadataStore {
    /// Benchmarks only: appends `count` synthetic entries in one transaction and signs one checkpoint,
    /// to build a large log quickly. Outside the public API: only `@_spi(Benchmarks) import` sees it.
    @_spi(Benchmarks) public func appendSyntheticEntries(_ count: Int) throws {
        try db.transaction {
            var index = UInt64(try db.first("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", [], { $0.int(0) }) ?? 0)
            for i in 0..<count {
                let bytes = LogEntry.enrolment(organisation: "bench\(i)", verifierKey: "synthetic", time: "2026-01-01T00:00:00Z", request: nil).bytes
                let leaf = MerkleHash.leaf(bytes)
                try db.run("INSERT INTO log_entries (idx, entry, leaf_hash, type) VALUES (?, ?, ?, ?)",
                           [.int(Int64(index)), .blob(bytes), .blob(leaf), .text("enrolment")])
                for n in try MerkleTree.nodesCompleted(byLeaf: index, leafHash: leaf, store: nodes) {
                    try db.run("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", [.int(Int64(n.level)), .int(Int64(n.index)), .blob(n.hash)])
                }
                index += 1
            }
            let root = try MerkleTree.root(size: index, store: nodes)
            let note = try Checkpoint(origin: origin, size: index, root: root).signed(by: logKey).serialized
            try db.run("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)", [.int(Int64(index)), .blob(root), .text(note)])
            size = index
        }
    }
}
