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
    public func commitRelease(number: Int, manifest: [UInt8], logSize: UInt64) throws -> AppendResult {
        let sha = Hex.encode(SHA256.digest(manifest))
        let entry = LogEntry.release(number: number, time: Timestamp.nowRFC3339(), manifestSHA256: sha)
        return try append(entry) { index in
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

    static func releaseRow(_ s: SQLiteDatabase.Statement) -> ReleaseRecord {
        ReleaseRecord(number: Int(s.int(0)), logIndex: UInt64(s.int(1)), manifestSHA256: s.text(2), logSize: UInt64(s.int(3)))
    }

    /// The policy in force: the last logged document and its log index.
    public func currentPolicy() throws -> (index: UInt64, document: [UInt8])? {
        try db.first("SELECT log_index, document FROM policies ORDER BY log_index DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.blob(1)) })
    }

    /// Logs `document` (a `PolicyDocument` signed by the log key) unless it is already the one in force.
    @discardableResult
    public func recordPolicy(_ policy: PolicyDocument) throws -> UInt64 {
        if let current = try currentPolicy(), let doc = try? PolicyDocument.verify(current.document, key: logKey.verifierKey), doc == policy {
            return current.index
        }
        let document = policy.signed(by: logKey)
        return try append(.policy(time: Timestamp.nowRFC3339(), document: document)) { index in
            try db.run("INSERT INTO policies (log_index, document) VALUES (?, ?)", [.int(Int64(index)), .blob(document)])
        }.index
    }
}
