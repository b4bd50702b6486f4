import Foundation
import TributaryCore
import TributaryLog

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
}
