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

/// Every read and write of the server's database (SQLite, or PostgreSQL shared by replicas),
/// serialised by the actor within a process and by the database's write lock across processes
/// (`SQLDatabase.transaction`). Each state change
/// is one transaction that also appends its log entry, stores the completed tree nodes and signs the
/// new checkpoint, after checking it is consistent with the previous one: a crash leaves all of it
/// or none. Keys, contributions and releases are in the extensions beside this file.
public actor MetadataStore {
    let db: any SQLDatabase
    /// Tree nodes read before: a node never changes once committed, and a proof or a root reads
    /// dozens (each a round trip to PostgreSQL). Emptied when a transaction that may have read its
    /// own uncommitted nodes fails.
    let nodeCache = NodeCache()
    let logKey: SigningKey
    public nonisolated let origin: String
    var size: UInt64 = 0
    /// Appends since the replay-nonce table was last pruned.
    var appendsSincePrune = 0
    /// Whether checkpoints are published only once witnesses cosigned them (`publishedCheckpoint`).
    public private(set) var requiresWitnesses = false

    public func requireWitnesses() { requiresWitnesses = true }

    /// `anchorDigest` nil accepts whatever anchor the data directory was created for (local admin tools).
    public init(path: String, logKey: SigningKey, anchorDigest: String?) throws {
        try self.init(database: .sqlite(path: path), logKey: logKey, anchorDigest: anchorDigest)
    }

    public init(database: DatabaseLocation, logKey: SigningKey, anchorDigest: String?) throws {
        let db = try SQLDatabases.open(database)
        let path = db.location
        try Schema.migrate(db)
        try db.transaction {
            if let stored = try db.first("SELECT value FROM meta WHERE key = 'anchor'", [], { $0.text(0) }) {
                if let anchorDigest, stored != anchorDigest { throw StoreError.anchorMismatch(stored: stored, given: anchorDigest) }
            } else {
                guard let anchorDigest else { throw StoreError.corrupt("\(path) is not an initialised data directory; start the server once first") }
                try db.run("INSERT INTO meta (key, value) VALUES ('anchor', ?), ('origin', ?), ('schema', ?)",
                           [.text(anchorDigest), .text(logKey.name), .text(String(Schema.version))])
            }
            if let storedOrigin = try db.first("SELECT value FROM meta WHERE key = 'origin'", [], { $0.text(0) }), storedOrigin != logKey.name {
                throw StoreError.corrupt("the log key is named \(logKey.name) but this log's origin is \(storedOrigin)")
            }
        }
        // One snapshot: replicas may be appending while this one starts.
        let size = try db.snapshot {
            let size = try db.storedLogSize()
            try Self.checkIntegrity(db, size: size, logKey: logKey.verifierKey)
            return size
        }
        self.db = db
        self.logKey = logKey
        self.origin = logKey.name
        self.size = size
    }

    /// Whether the database at `location` already holds log entries (opened and closed again).
    public static func holdsLog(_ location: DatabaseLocation) throws -> Bool {
        let db = try SQLDatabases.open(location)
        guard try db.tableExists("log_entries") else { return false }
        return try db.first("SELECT 1 FROM log_entries LIMIT 1", [], { _ in true }) ?? false
    }

    // MARK: Tree storage

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

    /// On start: entries must be dense, every leaf hash must match its entry, the stored tree must
    /// match the entries, the last signed checkpoint must carry the log key's signature and the tree
    /// at its size must still have its root. Streams the entries (memory stays O(log n)); a mismatch
    /// means the database was edited or the key replaced, and the server refuses to sign on top of it.
    private static func checkIntegrity(_ db: any SQLDatabase, size: UInt64, logKey: VerifierKey) throws {
        let nodes = Nodes(db: db)
        let count = try db.first("SELECT COUNT(*) FROM log_entries", [], { $0.int(0) }) ?? 0
        guard UInt64(count) == size else { throw StoreError.corrupt("log entries are not numbered 0..<\(size)") }
        let checkpoint = try db.first("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1", [],
                                      { (size: UInt64($0.int(0)), root: $0.blob(1), note: $0.text(2)) })
        if let cp = checkpoint {
            do { _ = try Checkpoint.verify(note: Array(cp.note.utf8), key: logKey) } catch {
                throw StoreError.logKeyMismatch("the last checkpoint (size \(cp.size)) is not signed by the log key \(logKey.encoded): \(error)")
            }
        }
        var frontier = CompactRange()
        var next: UInt64 = 0
        var rootAtCheckpoint: [UInt8]?
        try db.each("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx", []) { row in
            guard UInt64(row.int(0)) == next else { throw StoreError.corrupt("log entry \(next) is missing") }
            let leaf = row.blob(2)
            guard MerkleHash.leaf(row.blob(1)) == leaf else { throw StoreError.corrupt("entry \(next) does not match its leaf hash") }
            frontier.append(leaf)
            next += 1
            if let cp = checkpoint, cp.size == next { rootAtCheckpoint = frontier.root }
        }
        if size > 0, try MerkleTree.root(size: size, store: nodes) != frontier.root {
            throw StoreError.corrupt("stored tree nodes do not match the entries")
        }
        if let cp = checkpoint {
            guard cp.size <= size, rootAtCheckpoint == cp.root else {
                throw StoreError.corrupt("the log no longer matches its last signed checkpoint (size \(cp.size))")
            }
        }
    }

    // MARK: Appending

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

    // MARK: Reading the log

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

    // MARK: Replay nonces

    /// A nonce outlives its request's validity: a request is accepted only within ±skew of the
    /// server's clock, so after twice that plus a margin its nonce cannot come back unrefused.
    static let nonceRetentionSeconds = 3 * SignedRequest.maxSkewSeconds

    /// Marks a signed request's nonce used; a second use is a replay.
    func useNonce(_ nonce: String) throws {
        do {
            try db.run("INSERT INTO request_nonces (nonce, seen_at) VALUES (?, ?)", [.text(nonce), .int(Int64(Date().timeIntervalSince1970))])
        } catch StoreError.constraint {
            throw RequestError.replayed
        }
    }

    /// Records a nonce on its own (a request whose effect is not a single log entry).
    public func recordNonce(_ nonce: String) throws {
        try db.transaction { try useNonce(nonce) }
    }

    public func nonceUsed(_ nonce: String) throws -> Bool {
        try db.first("SELECT 1 FROM request_nonces WHERE nonce = ?", [.text(nonce)], { _ in true }) ?? false
    }

    /// Forgets nonces no request can replay any more; returns how many.
    @discardableResult
    public func pruneNonces(now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> Int {
        appendsSincePrune = 0
        let before = try db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) }) ?? 0
        try db.run("DELETE FROM request_nonces WHERE seen_at < ?", [.int(now - Self.nonceRetentionSeconds)])
        return before - (try db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) }) ?? 0)
    }

    public var nonceCount: Int { (try? db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) })) ?? 0 }
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
