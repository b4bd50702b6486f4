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

public struct KeyRecord: Sendable, Equatable {
    public let keyID: String
    public let organisation: String
    public let verifierKey: VerifierKey
    public let enrolledAt: UInt64
    public let revokedAt: UInt64?
}

public struct ContributionRecord: Sendable, Equatable {
    public let logIndex: UInt64
    public let organisation: String
    public let keyID: String
    public let statementSHA256: String
    public let envelopeSHA256: String
    public let expertSHA256: String
    public let routingSHA256: String
    public let nonce: String
    public let privacy: String
    public let revokedAt: UInt64?
}

public struct ReleaseRecord: Sendable, Equatable {
    public let number: Int
    public let logIndex: UInt64
    public let manifestSHA256: String
    public let logSize: UInt64
}

/// Every read and write of the server's SQLite database, serialised by the actor. Each state change
/// is one transaction that also appends its log entry, stores the completed tree nodes and signs the
/// new checkpoint, after checking it is consistent with the previous one: a crash leaves all of it
/// or none.
public actor MetadataStore {
    let db: SQLiteDatabase
    let logKey: SigningKey
    public nonisolated let origin: String
    private var size: UInt64 = 0

    /// `anchorDigest` nil accepts whatever anchor the data directory was created for (local admin tools).
    public init(path: String, logKey: SigningKey, anchorDigest: String?) throws {
        let db = try SQLiteDatabase(path: path)
        for s in Schema.statements { try db.execute(s) }
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
        let size = UInt64(try db.first("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", [], { $0.int(0) }) ?? 0)
        try Self.checkIntegrity(db, size: size)
        self.db = db
        self.logKey = logKey
        self.origin = logKey.name
        self.size = size
    }

    // MARK: Tree storage

    struct Nodes: TreeNodeStore {
        let db: SQLiteDatabase
        func node(level: Int, index: UInt64) throws -> [UInt8] {
            guard let h = try db.first("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", [.int(Int64(level)), .int(Int64(index))], { $0.blob(0) }) else {
                throw MerkleTreeError.missingNode(level, index)
            }
            return h
        }
    }

    var nodes: Nodes { Nodes(db: db) }

    /// On start: entries must be dense, the tree's root at the last checkpoint must equal that
    /// checkpoint's root, and every leaf hash must match its entry. A mismatch means the database was
    /// edited; the server refuses to sign anything on top of it.
    private static func checkIntegrity(_ db: SQLiteDatabase, size: UInt64) throws {
        let nodes = Nodes(db: db)
        let maxIndex = try db.first("SELECT MAX(idx) FROM log_entries", [], { $0.isNull(0) ? -1 : $0.int(0) }) ?? -1
        guard maxIndex + 1 == Int64(size) else { throw StoreError.corrupt("log entries are not numbered 0..<\(size)") }
        let rows = try db.query("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx", []) { ($0.int(0), $0.blob(1), $0.blob(2)) }
        let tree = MemoryTree()
        for (i, entry, leaf) in rows {
            guard MerkleHash.leaf(entry) == leaf else { throw StoreError.corrupt("entry \(i) does not match its leaf hash") }
            tree.append(leafHash: leaf)
        }
        if size > 0, try MerkleTree.root(size: size, store: nodes) != tree.root() {
            throw StoreError.corrupt("stored tree nodes do not match the entries")
        }
        if let (cpSize, cpRoot) = try db.first("SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.blob(1)) }) {
            guard cpSize <= size, tree.root(size: cpSize) == cpRoot else {
                throw StoreError.corrupt("the log no longer matches its last signed checkpoint (size \(cpSize))")
            }
        }
    }

    // MARK: Appending

    /// Appends `entry` and signs a checkpoint; `extra` runs in the same transaction (index tables).
    /// Internal, not private: the auditor's tamper tests play a compromised server with it.
    func append(_ entry: LogEntry, extra: (UInt64) throws -> Void) throws -> AppendResult {
        let bytes = entry.bytes
        let result: AppendResult = try db.transaction {
            // Read the size inside the (immediate, write-locked) transaction: a local admin tool may
            // have appended since this process last looked.
            let index = UInt64(try db.first("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", [], { $0.int(0) }) ?? 0)
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
            if let (oldSize, oldRoot) = try db.first("SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.blob(1)) }) {
                let proof = try MerkleTree.consistencyProof(first: oldSize, second: newSize, store: nodes)
                guard ProofVerification.consistency(first: oldSize, second: newSize, firstRoot: oldRoot, secondRoot: root, proof: proof) else {
                    throw StoreError.corrupt("new tree of size \(newSize) is not consistent with checkpoint \(oldSize)")
                }
            }
            let note = try Checkpoint(origin: origin, size: newSize, root: root).signed(by: logKey).serialized
            try db.run("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)", [.int(Int64(newSize)), .blob(root), .text(note)])
            return AppendResult(index: index, size: newSize, checkpoint: note,
                                proof: try MerkleTree.inclusionProof(index: index, size: newSize, store: nodes))
        }
        size = result.size
        return result
    }

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

    // MARK: Reading the log

    public var logSize: UInt64 {
        if let n = try? db.first("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", [], { $0.int(0) }) { size = UInt64(n) }
        return size
    }

    public func checkpoint() throws -> (size: UInt64, note: String)? {
        try db.first("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.text(1)) })
    }

    public func entries(start: UInt64, end: UInt64) throws -> [[UInt8]] {
        try db.query("SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", [.int(Int64(start)), .int(Int64(end))]) { $0.blob(0) }
    }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> [[UInt8]] {
        try MerkleTree.inclusionProof(index: index, size: size, store: nodes)
    }

    public func consistencyProof(first: UInt64, second: UInt64) throws -> [[UInt8]] {
        try MerkleTree.consistencyProof(first: first, second: second, store: nodes)
    }

    public func root(size: UInt64) throws -> [UInt8] { try MerkleTree.root(size: size, store: nodes) }

    // MARK: Keys

    public func key(id: String) throws -> KeyRecord? {
        try db.first("SELECT key_id, organisation, verifier_key, enrolled_at, revoked_at FROM keys WHERE key_id = ?", [.text(id)], Self.keyRow)
    }

    public func keys() throws -> [KeyRecord] {
        try db.query("SELECT key_id, organisation, verifier_key, enrolled_at, revoked_at FROM keys ORDER BY enrolled_at", [], Self.keyRow)
    }

    static func keyRow(_ s: SQLiteDatabase.Statement) throws -> KeyRecord {
        KeyRecord(keyID: s.text(0), organisation: s.text(1), verifierKey: try VerifierKey(parsing: s.text(2)),
                  enrolledAt: UInt64(s.int(3)), revokedAt: s.isNull(4) ? nil : UInt64(s.int(4)))
    }

    public func enrol(_ key: VerifierKey, request: [UInt8]?, nonce: String?) throws -> AppendResult {
        if let existing = try self.key(id: key.keyIDHex) {
            throw ServerError.conflict("key \(existing.keyID) is already enrolled for \(existing.organisation)")
        }
        let entry = LogEntry.enrolment(organisation: key.name, verifierKey: key.encoded, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            if let nonce { try useNonce(nonce) }
            try db.run("INSERT INTO keys (key_id, organisation, verifier_key, enrolled_at) VALUES (?, ?, ?, ?)",
                       [.text(key.keyIDHex), .text(key.name), .text(key.encoded), .int(Int64(index))])
        }
    }

    public func revokeKey(_ record: KeyRecord, request: [UInt8]?, nonce: String?) throws -> AppendResult {
        guard record.revokedAt == nil else { throw ServerError.conflict("key \(record.keyID) is already revoked") }
        let entry = LogEntry.keyRevocation(organisation: record.organisation, keyID: record.keyID, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            if let nonce { try useNonce(nonce) }
            try db.run("UPDATE keys SET revoked_at = ? WHERE key_id = ?", [.int(Int64(index)), .text(record.keyID)])
        }
    }

    /// Marks a signed request's nonce used; a second use is a replay.
    private func useNonce(_ nonce: String) throws {
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

    // MARK: Contributions

    public func duplicate(statementSHA256: String, expertSHA256: String, nonce: String) throws -> String? {
        if try db.first("SELECT 1 FROM contributions WHERE statement_sha256 = ?", [.text(statementSHA256)], { _ in 1 }) != nil { return "statement" }
        if try db.first("SELECT 1 FROM contributions WHERE expert_sha256 = ?", [.text(expertSHA256)], { _ in 1 }) != nil { return "expert weights" }
        if try db.first("SELECT 1 FROM contributions WHERE nonce = ?", [.text(nonce)], { _ in 1 }) != nil { return "nonce" }
        return nil
    }

    public func commitContribution(_ c: ContributionRecord, entry: LogEntry) throws -> AppendResult {
        if let what = try duplicate(statementSHA256: c.statementSHA256, expertSHA256: c.expertSHA256, nonce: c.nonce) {
            throw ContributionError.duplicate(what)
        }
        return try append(entry) { index in
            try db.run("""
                INSERT INTO contributions (log_index, organisation, key_id, statement_sha256, envelope_sha256, expert_sha256,
                                           routing_sha256, nonce, privacy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.int(Int64(index)), .text(c.organisation), .text(c.keyID), .text(c.statementSHA256), .text(c.envelopeSHA256),
                      .text(c.expertSHA256), .text(c.routingSHA256), .text(c.nonce), .text(c.privacy)])
        }
    }

    static func contributionRow(_ s: SQLiteDatabase.Statement) -> ContributionRecord {
        ContributionRecord(logIndex: UInt64(s.int(0)), organisation: s.text(1), keyID: s.text(2), statementSHA256: s.text(3),
                           envelopeSHA256: s.text(4), expertSHA256: s.text(5), routingSHA256: s.text(6), nonce: s.text(7),
                           privacy: s.text(8), revokedAt: s.isNull(9) ? nil : UInt64(s.int(9)))
    }

    static let contributionColumns = "log_index, organisation, key_id, statement_sha256, envelope_sha256, expert_sha256, routing_sha256, nonce, privacy, revoked_at"

    public func contribution(_ index: UInt64) throws -> ContributionRecord? {
        try db.first("SELECT \(Self.contributionColumns) FROM contributions WHERE log_index = ?", [.int(Int64(index))], Self.contributionRow)
    }

    public func contribution(statementSHA256 sha: String) throws -> ContributionRecord? {
        try db.first("SELECT \(Self.contributionColumns) FROM contributions WHERE statement_sha256 = ?", [.text(sha)], Self.contributionRow)
    }

    /// Accepted and not revoked, in log order.
    public func liveContributions() throws -> [ContributionRecord] {
        try db.query("SELECT \(Self.contributionColumns) FROM contributions WHERE revoked_at IS NULL ORDER BY log_index", [], Self.contributionRow)
    }

    /// The live contributions and the log size, read together (a release reflects exactly this state).
    public func releaseSnapshot() throws -> ([ContributionRecord], UInt64) { (try liveContributions(), logSize) }

    public func allContributions() throws -> [ContributionRecord] {
        try db.query("SELECT \(Self.contributionColumns) FROM contributions ORDER BY log_index", [], Self.contributionRow)
    }

    public func revokeContribution(_ c: ContributionRecord, request: [UInt8], nonce: String) throws -> AppendResult {
        guard c.revokedAt == nil else { throw ServerError.conflict("contribution \(c.logIndex) is already revoked") }
        let entry = LogEntry.contributionRevocation(contribution: c.logIndex, organisation: c.organisation, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            try useNonce(nonce)
            try db.run("UPDATE contributions SET revoked_at = ? WHERE log_index = ?", [.int(Int64(index)), .int(Int64(c.logIndex))])
        }
    }

    // MARK: Releases

    public func commitRelease(number: Int, manifest: [UInt8], logSize: UInt64) throws -> AppendResult {
        let entry = LogEntry.release(number: number, time: Timestamp.nowRFC3339(), manifest: manifest)
        return try append(entry) { index in
            try db.run("INSERT INTO releases (number, log_index, manifest_sha256, log_size) VALUES (?, ?, ?, ?)",
                       [.int(Int64(number)), .int(Int64(index)), .text(Hex.encode(SHA256.digest(manifest))), .int(Int64(logSize))])
        }
    }

    public func latestRelease() throws -> ReleaseRecord? {
        try db.first("SELECT number, log_index, manifest_sha256, log_size FROM releases ORDER BY number DESC LIMIT 1", [], Self.releaseRow)
    }

    public func release(_ n: Int) throws -> ReleaseRecord? {
        try db.first("SELECT number, log_index, manifest_sha256, log_size FROM releases WHERE number = ?", [.int(Int64(n))], Self.releaseRow)
    }

    public func releaseNumbers() throws -> [Int] {
        try db.query("SELECT number FROM releases ORDER BY number", []) { Int($0.int(0)) }
    }

    static func releaseRow(_ s: SQLiteDatabase.Statement) -> ReleaseRecord {
        ReleaseRecord(number: Int(s.int(0)), logIndex: UInt64(s.int(1)), manifestSHA256: s.text(2), logSize: UInt64(s.int(3)))
    }
}
