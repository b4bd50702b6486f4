import Foundation
import TributaryCore
import TributaryLog

public struct ContributionRecord: Sendable, Equatable {
    public let logIndex: UInt64
    public let organisation: String
    public let keyID: String
    /// The full key that signed it (key IDs are only hints).
    public let verifierKey: String
    public let statementSHA256: String
    public let envelopeSHA256: String
    public let expertSHA256: String
    public let routingSHA256: String
    public let nonce: String
    public let privacy: String
    /// The ε the statement declares (0 without DP), for per-organisation budgets.
    public let epsilon: Double
    /// Log index of the owner's opt-out.
    public let revokedAt: UInt64?
    /// Log index of the operator's takedown, or of the compromised key's revocation.
    public let takenDownAt: UInt64?
    /// In releases: neither withdrawn nor taken down.
    public var isLive: Bool { revokedAt == nil && takenDownAt == nil }
}

/// Accepted contributions, opt-outs and takedowns.
extension MetadataStore {
    static let contributionColumns = "log_index, organisation, key_id, verifier_key, statement_sha256, envelope_sha256, expert_sha256, routing_sha256, nonce, privacy, epsilon, revoked_at, taken_down_at"

    static func contributionRow(_ s: any SQLRow) -> ContributionRecord {
        ContributionRecord(logIndex: UInt64(s.int(0)), organisation: s.text(1), keyID: s.text(2), verifierKey: s.text(3),
                           statementSHA256: s.text(4), envelopeSHA256: s.text(5), expertSHA256: s.text(6), routingSHA256: s.text(7),
                           nonce: s.text(8), privacy: s.text(9), epsilon: s.double(10),
                           revokedAt: s.isNull(11) ? nil : UInt64(s.int(11)), takenDownAt: s.isNull(12) ? nil : UInt64(s.int(12)))
    }

    /// What an accepted contribution already has in common with this one, if anything.
    public func duplicate(statementSHA256: String, expertSHA256: String?, nonce: String?) throws -> String? {
        if try db.first("SELECT 1 FROM contributions WHERE statement_sha256 = ?", [.text(statementSHA256)], { _ in 1 }) != nil { return "statement" }
        if let expertSHA256, try db.first("SELECT 1 FROM contributions WHERE expert_sha256 = ?", [.text(expertSHA256)], { _ in 1 }) != nil {
            return "expert weights"
        }
        if let nonce, try db.first("SELECT 1 FROM contributions WHERE nonce = ?", [.text(nonce)], { _ in 1 }) != nil { return "nonce" }
        return nil
    }

    /// The ε an organisation's accepted contributions declare in all (opt-outs included: what was
    /// published stays published).
    public func epsilonSpent(organisation: String) throws -> Double {
        try db.first("SELECT COALESCE(SUM(epsilon), 0) FROM contributions WHERE organisation = ?", [.text(organisation)], { $0.double(0) }) ?? 0
    }

    /// Checked again inside the transaction, under the write lock: the key still live, nothing
    /// accepted in common, the organisation's ε budget (`epsilonBudget`) not exceeded. Uploads through
    /// other replicas, or at once through this one, may have committed since admission checked them.
    public func commitContribution(_ c: ContributionRecord, entry: LogEntry, policy: ContributionPolicy) throws -> AppendResult {
        return try append(entry) { index in
            if let what = try duplicate(statementSHA256: c.statementSHA256, expertSHA256: c.expertSHA256, nonce: c.nonce) {
                throw ContributionError.duplicate(what)
            }
            do { try policy.checkBudget(spent: try epsilonSpent(organisation: c.organisation), asked: c.epsilon) } catch let v as PolicyViolation {
                throw ContributionError.from(v)
            }
            // The key may have been revoked or retired between the check and this transaction.
            guard let key = try db.first("SELECT \(Self.keyColumns) FROM keys WHERE verifier_key = ?", [.text(c.verifierKey)], Self.keyRow),
                  key.isLive else { throw ContributionError.keyRevoked(c.keyID) }
            try db.run("""
                INSERT INTO contributions (log_index, organisation, key_id, verifier_key, statement_sha256, envelope_sha256, expert_sha256,
                                           routing_sha256, nonce, privacy, epsilon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.int(Int64(index)), .text(c.organisation), .text(c.keyID), .text(c.verifierKey), .text(c.statementSHA256),
                      .text(c.envelopeSHA256), .text(c.expertSHA256), .text(c.routingSHA256), .text(c.nonce), .text(c.privacy),
                      .double(c.epsilon)])
        }
    }

    public func contribution(_ index: UInt64) throws -> ContributionRecord? {
        // Clamped: an index past Int64 names no row (and must not trap).
        try db.first("SELECT \(Self.contributionColumns) FROM contributions WHERE log_index = ?", [.int(Int64(clamping: index))], Self.contributionRow)
    }

    public func contribution(statementSHA256 sha: String) throws -> ContributionRecord? {
        try db.first("SELECT \(Self.contributionColumns) FROM contributions WHERE statement_sha256 = ?", [.text(sha)], Self.contributionRow)
    }

    /// In releases (neither withdrawn nor taken down), in log order.
    public func liveContributions() throws -> [ContributionRecord] {
        try db.query("SELECT \(Self.contributionColumns) FROM contributions WHERE revoked_at IS NULL AND taken_down_at IS NULL ORDER BY log_index",
                     [], Self.contributionRow)
    }

    /// The live contributions and the log size, read together (a release reflects exactly this state).
    public func releaseSnapshot() throws -> ([ContributionRecord], UInt64) {
        try db.transaction { (try liveContributions(), try db.storedLogSize()) }
    }

    public func allContributions() throws -> [ContributionRecord] {
        try db.query("SELECT \(Self.contributionColumns) FROM contributions ORDER BY log_index", [], Self.contributionRow)
    }

    /// The owner withdraws its contribution (opt-out). Whether it is already withdrawn is read inside
    /// the append's transaction, under the write lock: two opt-outs at once log one revocation, and the
    /// other is refused (a second would make every later audit fail, and the log cannot drop it).
    public func revokeContribution(_ c: ContributionRecord, request: [UInt8], nonce: String) throws -> AppendResult {
        let entry = LogEntry.contributionRevocation(contribution: c.logIndex, organisation: c.organisation, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            guard try contribution(c.logIndex)?.revokedAt == nil else { throw ServerError.conflict("contribution \(c.logIndex) is already withdrawn") }
            try useNonce(nonce)
            try db.run("UPDATE contributions SET revoked_at = ? WHERE log_index = ?", [.int(Int64(index)), .int(Int64(c.logIndex))])
        }
    }

    /// The operator takes a contribution down, with a reason (checked inside the transaction, as above).
    public func takeDown(_ c: ContributionRecord, reason: String, request: [UInt8], nonce: String) throws -> AppendResult {
        let entry = LogEntry.contributionTakedown(contribution: c.logIndex, reason: reason, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            guard try contribution(c.logIndex)?.takenDownAt == nil else { throw ServerError.conflict("contribution \(c.logIndex) is already taken down") }
            try useNonce(nonce)
            try db.run("UPDATE contributions SET taken_down_at = ? WHERE log_index = ?", [.int(Int64(index)), .int(Int64(c.logIndex))])
        }
    }
}
