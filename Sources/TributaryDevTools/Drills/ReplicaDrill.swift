import Foundation
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryModel

public struct ReplicaDrillOptions: Sendable {
    public var drill = FaultDrillOptions()
    public var replicas = 3
    /// The share of cycles that crash the database server instead of a replica.
    public var databaseCrashShare = 0.25
    public init() {}
}

public struct ReplicaDrillReport: Sendable {
    public var base = FaultDrillReport()
    public var replicas = 0
    public var replicaKills = 0
    public var databaseCrashes = 0
    /// After each cycle: seconds until every replica served the latest release.
    public var releasePickup: [Double] = []
    /// Blobs a killed replica adopted but never committed (removed by a start an hour later).
    public var orphanBlobs = 0

    public var passed: Bool { base.passed }

    public var text: String {
        var lines = base.text.components(separatedBy: "\n")
        lines[0] = String(format: "replica drill: %d replicas on one PostgreSQL, %d cycles in %.0f s (%d replica SIGKILLs, %d database SIGKILLs)",
                          replicas, base.cycles, base.seconds, replicaKills, databaseCrashes)
        let pickup = releasePickup.sorted()
        lines.insert(String(format: "  latest release on every replica:  p50 %.2f s, max %.2f s after the checks began", pickup.isEmpty ? 0 : pickup[pickup.count / 2], pickup.last ?? 0),
                     at: lines.count - 1 - base.failures.count)
        lines.insert("  orphan blobs left by killed replicas: \(orphanBlobs) (no contribution names them; a start an hour later removes them)",
                     at: lines.count - 1 - base.failures.count)
        return lines.joined(separator: "\n")
    }
}

/// The fault drill across replicas: `replicas` `tributary serve` processes on one PostgreSQL
/// database and one shared store; uploads, opt-outs and releases go through different replicas
/// each cycle; each cycle SIGKILLs one replica, or the database server (then restarts it), at a
/// random moment under load; then the same checks as `FaultDrill` through another replica, plus:
/// every replica answers again and serves the latest release.
public struct ReplicaDrill: Sendable {
    public let binary: String
    public let work: String
    public let database: DrillDatabase
    public let options: ReplicaDrillOptions

    /// Built once and shared by tests; nil: the drill builds its own.
    public let deployment: SmallDeployment?

    public init(binary: String, work: String, database: DrillDatabase, options: ReplicaDrillOptions, deployment: SmallDeployment? = nil) {
        self.deployment = deployment
        self.binary = binary
        self.work = work
        self.database = database
        self.options = options
    }

    public func run(log: @escaping @Sendable (String) -> Void) async throws -> ReplicaDrillReport {
        let t0 = DrillWorkers.now()
        let o = options.drill
        let names = (0..<o.uploaders).map { "org\($0)" }
        let deployment = try DrillSetup.deployment(self.deployment, work: work, organisations: names, log: log)
        let url = try database.createDatabase("drill_" + Hex.encode(secureRandomBytes(5)))
        let set = try await ReplicaSet.start(binary: binary, work: work, deployment: deployment, database: database, databaseURL: url,
                                             count: options.replicas, origin: "drill.tributary/log")
        defer { set.killAll() }
        let logKey = set.logKey, scratch = work + "/scratch", auditState = work + "/audit-state"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let setup = try TributaryClient(server: set.servers[0].url)
        for name in names { _ = try await setup.enrol(deployment.organisations[name]!.key.verifierKey, operatorKey: deployment.operatorKey) }

        let ledger = DrillLedger()
        var report = ReplicaDrillReport()
        report.replicas = options.replicas
        var rng = RNG(seed: o.seed)
        var lastVerified = try Checkpoint.verify(note: try await setup.checkpoint(), key: logKey)
        var blobs = Set<String>()
        let n = options.replicas
        log("\(n) replicas up (\(set.servers.map(\.url).joined(separator: ", "))) on \(url); \(o.cycles) cycles")
        for cycle in 1...o.cycles {
            await ledger.beginPhase()
            let http = FaultDrill.httpClient()
            let workers = try set.servers.map { s -> DrillWorkers in
                var client = try TributaryClient(server: s.url, http: http)
                client.timeoutSeconds = 60
                return DrillWorkers(client: client, ledger: ledger, deployment: deployment, logKey: logKey, scratch: scratch)
            }
            let seed = rng.next(), uptime = o.uptime.lowerBound + (o.uptime.upperBound - o.uptime.lowerBound) * rng.uniformDouble()
            let (pause, keepLive, interval) = (o.uploadPause, o.keepLive, o.releaseInterval)
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (i, name) in names.enumerated() {
                        group.addTask { await workers[(i + cycle) % n].uploader(name, pause: pause, seed: seed &+ UInt64(i)) }
                    }
                    group.addTask { await workers[(cycle + 1) % n].revoker(keepLive: keepLive, seed: seed &+ 100) }
                    group.addTask { await workers[(cycle + 2) % n].publisher(interval: interval) }
                    for w in workers { group.addTask { await w.checkpointWatcher(interval: 0.05) } }
                }
            }
            try await Task.sleep(nanoseconds: UInt64(uptime * 1e9))
            await ledger.stop()
            let crashDatabase = database.cluster != nil && rng.uniformDouble() < options.databaseCrashShare
            let victim = rng.below(n)
            if crashDatabase { try database.crash(); report.databaseCrashes += 1 } else { set.servers[victim].kill(); report.replicaKills += 1 }
            let killedAt = DrillWorkers.now()
            await load.value
            let windDown = DrillWorkers.now() - killedAt
            try? await http.shutdown()

            // Restart to every replica answering /checkpoint again (which needs the database).
            let restart0 = DrillWorkers.now()
            if crashDatabase { try database.restart() } else { try await set.servers[victim].start() }
            try await set.waitUntilAllAnswer()
            report.base.restartSeconds.append(DrillWorkers.now() - restart0)
            let via = try TributaryClient(server: set.servers[(victim + 1) % n].url)
            let checker = DrillChecks(client: via, ledger: ledger, deployment: deployment, logKey: logKey, dataDirectory: set.store, scratch: scratch)
            let (now, checked) = try await checker.consistency(with: await ledger.checkpoints + [lastVerified])
            lastVerified = now
            report.base.checkpointsChecked += checked
            try await checker.settle(cycle: cycle, report: &report.base, blobs: &blobs)
            report.orphanBlobs = await checker.storageIsTidy(expectedBlobs: blobs, sharedStore: true)
            // Every replica shows the same log and, within its poll interval, the latest release.
            for s in set.servers {
                let cp = try Checkpoint.verify(note: try await TributaryClient(server: s.url).checkpoint(), key: logKey)
                if cp.size < now.size { await ledger.fail("cycle \(cycle): \(s.url) shows a log of \(cp.size) entries, another replica \(now.size)") }
            }
            if let latest = await latestRelease(via) {
                do { report.releasePickup.append(try await set.waitForRelease(latest)) } catch { await ledger.fail("cycle \(cycle): \(error)") }
            }
            let audit = try await checker.audit(state: auditState)
            if audit.passed { report.base.auditsPassed += 1 }
            report.base.finalLogSize = now.size
            report.base.cycles = cycle
            for (sent, _) in await ledger.acknowledged { try? FileManager.default.removeItem(atPath: sent.directory) }
            for sent in await ledger.interrupted { try? FileManager.default.removeItem(atPath: sent.directory) }
            let failures = await ledger.failureCount
            log(String(format: "cycle %d/%d: %@ killed after %.2f s; requests in flight ended %.2f s later; log %d entries, %d live experts; all answering after %.2f s; audit %@%@",
                       cycle, o.cycles, crashDatabase ? "the database" : "replica\(victim)", uptime, windDown, now.size, await ledger.liveCount(),
                       report.base.restartSeconds.last!, audit.passed ? "ok" : "FAILED", failures > 0 ? "; \(failures) failure(s)" : ""))
            if failures > 0 { break }
        }
        report.base.releasesAcknowledged = await ledger.outcomes["release"]?["201"] ?? 0
        report.base.failureCount = await ledger.failureCount
        report.base.failures = await ledger.failures
        report.base.seconds = DrillWorkers.now() - t0
        for s in set.servers { s.stop() }
        return report
    }

    private func latestRelease(_ client: TributaryClient) async -> Int? {
        try? await client.latestRelease().release
    }
}
