import Foundation
import TributaryCore
import TributaryLog

public struct ReleaseRecord: Sendable, Equatable {
    public let number: Int
    public let logIndex: UInt64
    public let manifestSHA256: String
    public let logSize: UInt64
}

/// Releases and the logged contribution policies.
extension MetadataStore {
    /// `leaseHolder`: the replica that built it; the commit is refused if another replica has taken
    /// the release lease since (it may be building beside this one). A lease that only ran out while
    /// a loaded machine was late to renew it is not lost: nobody else can build without taking it
    /// first, and the release number's uniqueness catches a taker that already committed.
    public func commitRelease(number: Int, manifest: [UInt8], logSize: UInt64, leaseHolder: String? = nil) throws -> AppendResult {
        let sha = Hex.encode(SHA256.digest(manifest))
        let entry = LogEntry.release(number: number, time: Timestamp.nowRFC3339(), manifestSHA256: sha)
        return try append(entry) { index in
            if let leaseHolder {
                guard try db.first("SELECT 1 FROM release_lease WHERE id = 1 AND holder = ?",
                                   [.text(leaseHolder)], { _ in true }) == true else {
                    throw StoreError.leaseLost(leaseHolder)
                }
            }
            try db.run("INSERT INTO releases (number, log_index, manifest_sha256, log_size) VALUES (?, ?, ?, ?)",
                       [.int(Int64(number)), .int(Int64(index)), .text(sha), .int(Int64(logSize))])
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

    // MARK: The release lease

    /// Seconds since 1970 by the database's clock: the one clock every replica shares.
    func databaseNow() throws -> Int64 {
        let sql = db.dialect == .postgres ? "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)" : "SELECT CAST(strftime('%s', 'now') AS INTEGER)"
        return try db.first(sql, [], { $0.int(0) }) ?? 0
    }

    /// Takes (or renews) the lease on building releases for `seconds`, unless another replica holds
    /// one that has not expired; returns whether `holder` holds it now.
    public func acquireReleaseLease(holder: String, seconds: Int64) throws -> Bool {
        try db.transaction {
            let now = try databaseNow()
            if let lease = try db.first("SELECT holder, expires_at FROM release_lease WHERE id = 1", [], { (holder: $0.text(0), expires: $0.int(1)) }) {
                guard lease.holder == holder || lease.expires <= now else { return false }
                try db.run("UPDATE release_lease SET holder = ?, expires_at = ? WHERE id = 1", [.text(holder), .int(now + seconds)])
            } else {
                try db.run("INSERT INTO release_lease (id, holder, expires_at) VALUES (1, ?, ?)", [.text(holder), .int(now + seconds)])
            }
            return true
        }
    }

    /// Gives the lease back (only if `holder` holds it).
    public func releaseReleaseLease(holder: String) throws {
        try db.transaction { try db.run("UPDATE release_lease SET expires_at = 0 WHERE id = 1 AND holder = ?", [.text(holder)]) }
    }

    /// Who holds the lease and until when (database clock), if anyone ever took it.
    public func releaseLease() throws -> (holder: String, expiresAt: Int64)? {
        try db.first("SELECT holder, expires_at FROM release_lease WHERE id = 1", [], { ($0.text(0), $0.int(1)) })
    }

    static func releaseRow(_ s: any SQLRow) -> ReleaseRecord {
        ReleaseRecord(number: Int(s.int(0)), logIndex: UInt64(s.int(1)), manifestSHA256: s.text(2), logSize: UInt64(s.int(3)))
    }

    /// The policy in force: the last logged document and its log index.
    public func currentPolicy() throws -> (index: UInt64, document: [UInt8])? {
        try db.first("SELECT log_index, document FROM policies ORDER BY log_index DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.blob(1)) })
    }

    /// Logs `document` (a `PolicyDocument` signed by the log key) unless it is already the one in force.
    @discardableResult
    /// Checked again under the write lock: replicas starting together log it once.
    public func recordPolicy(_ policy: PolicyDocument) throws -> UInt64 {
        func inForce() throws -> UInt64? {
            guard let current = try currentPolicy(), let doc = try? PolicyDocument.verify(current.document, key: logKey.verifierKey), doc == policy else { return nil }
            return current.index
        }
        if let index = try inForce() { return index }
        let document = policy.signed(by: logKey)
        do {
            return try append(.policy(time: Timestamp.nowRFC3339(), document: document)) { index in
                if let logged = try inForce() { throw PolicyAlreadyLogged(index: logged) }
                try db.run("INSERT INTO policies (log_index, document) VALUES (?, ?)", [.int(Int64(index)), .blob(document)])
            }.index
        } catch let logged as PolicyAlreadyLogged {
            return logged.index
        }
    }
}

/// Another replica logged the same policy a moment earlier (rolls the append back).
private struct PolicyAlreadyLogged: Error {
    let index: UInt64
}
