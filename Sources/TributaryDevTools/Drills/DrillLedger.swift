import Foundation
import TributaryLog

/// A bundle a drill client sent: enough to find it on the server and verify it afterwards.
struct SentBundle: Sendable {
    let organisation: String
    let directory: String
    let statement: [UInt8]
    let statementSHA256: String
}

/// What the drill's clients sent and what the server acknowledged: the truth the checks after a
/// restart (or at the end of a load run) compare the server with.
actor DrillLedger {
    struct Contribution: Sendable {
        let organisation: String
        var revoked = false
        var revoking = false
    }

    /// Set before the server is killed (or the run ends): failures after it are expected.
    private(set) var stopping = false
    private var counter = 0

    // Since the last `beginPhase`.
    private(set) var acknowledged: [(SentBundle, UInt64)] = []
    private(set) var interrupted: [SentBundle] = []
    private(set) var revocationsAcknowledged: [UInt64] = []
    private(set) var revocationsInterrupted: [UInt64] = []
    private(set) var checkpoints: [Checkpoint] = []

    // The whole run.
    private(set) var contributions: [UInt64: Contribution] = [:]
    /// The first 50 failure messages, and how many there were.
    private(set) var failures: [String] = []
    private(set) var failureCount = 0
    private(set) var latencies: [String: [Double]] = [:]
    private(set) var outcomes: [String: [String: Int]] = [:]

    func beginPhase() {
        stopping = false
        acknowledged = []
        interrupted = []
        revocationsAcknowledged = []
        revocationsInterrupted = []
        checkpoints = []
    }

    func stop() { stopping = true }

    func nextNumber() -> Int {
        counter += 1
        return counter
    }

    func fail(_ message: String) {
        failureCount += 1
        if failures.count < 50 { failures.append(message) }
    }

    /// One request's outcome (`"201"`, `"5xx"`…) and, when it succeeded, its latency in seconds.
    func record(_ operation: String, outcome: String, seconds: Double?) {
        outcomes[operation, default: [:]][outcome, default: 0] += 1
        if let seconds { latencies[operation, default: []].append(seconds) }
    }

    func acknowledged(_ sent: SentBundle, index: UInt64, checkpoint: Checkpoint?) {
        acknowledged.append((sent, index))
        contributions[index] = Contribution(organisation: sent.organisation)
        if let checkpoint { checkpoints.append(checkpoint) }
    }

    func interrupted(_ sent: SentBundle) { interrupted.append(sent) }

    /// Found on the server after a restart although its upload was never acknowledged.
    func discovered(_ index: UInt64, organisation: String, revoked: Bool) {
        contributions[index] = Contribution(organisation: organisation, revoked: revoked)
    }

    /// A live contribution to revoke, chosen at random, when more than `keepLive` are live.
    func pickRevocable(keepLive: Int, random: UInt64) -> (UInt64, String)? {
        let live = contributions.filter { !$0.value.revoked && !$0.value.revoking }
        guard live.count > keepLive else { return nil }
        let keys = live.keys.sorted()
        let index = keys[Int(random % UInt64(keys.count))]
        contributions[index]!.revoking = true
        return (index, live[index]!.organisation)
    }

    func revoked(_ index: UInt64, checkpoint: Checkpoint?) {
        contributions[index]?.revoked = true
        contributions[index]?.revoking = false
        revocationsAcknowledged.append(index)
        if let checkpoint { checkpoints.append(checkpoint) }
    }

    func revocationInterrupted(_ index: UInt64) {
        contributions[index]?.revoking = false
        revocationsInterrupted.append(index)
    }

    /// What the server says after a restart about a revocation whose reply was lost.
    func settleRevocation(_ index: UInt64, revoked: Bool) { contributions[index]?.revoked = revoked }

    func saw(_ checkpoint: Checkpoint) { checkpoints.append(checkpoint) }

    func liveCount() -> Int { contributions.values.filter { !$0.revoked }.count }
}
