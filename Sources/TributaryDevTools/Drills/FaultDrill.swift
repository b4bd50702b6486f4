import AsyncHTTPClient
import Foundation
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryHarness

public struct FaultDrillOptions: Sendable {
    public var cycles = 50
    /// Organisations uploading at once (each its own client task and key).
    public var uploaders = 4
    /// Seconds of load before each SIGKILL, drawn uniformly.
    public var uptime: ClosedRange<Double> = 0.2...1.5
    /// Pause between one organisation's uploads, seconds.
    public var uploadPause: ClosedRange<Double> = 0...0.1
    /// The revoking client opts out contributions while more than this many are live.
    public var keepLive = 6
    public var releaseInterval = 0.5
    public var seed: UInt64 = 1
    public init() {}
}

public struct FaultDrillReport: Sendable {
    public var cycles = 0
    public var seconds = 0.0
    public var uploadsAcknowledged = 0
    public var uploadsCutOff = 0
    /// Cut-off uploads found committed after the restart: the kill fell between commit and reply.
    public var uploadsCommittedUnacknowledged = 0
    public var revocationsAcknowledged = 0
    public var revocationsCutOff = 0
    public var revocationsCommittedUnacknowledged = 0
    public var releasesAcknowledged = 0
    /// Distinct checkpoints handed out before a kill, each shown consistent with the log after it.
    public var checkpointsChecked = 0
    public var contributionsVerified = 0
    public var auditsPassed = 0
    public var finalLogSize: UInt64 = 0
    public var restartSeconds: [Double] = []
    public var failureCount = 0
    public var failures: [String] = []

    public var passed: Bool { failureCount == 0 && cycles > 0 }

    public var text: String {
        let restarts = restartSeconds.sorted()
        func pct(_ p: Double) -> Double { restarts.isEmpty ? 0 : restarts[min(restarts.count - 1, Int(Double(restarts.count) * p))] }
        var lines = [
            String(format: "fault drill: %d SIGKILL/restart cycles in %.0f s", cycles, seconds),
            "  uploads acknowledged:             \(uploadsAcknowledged), every one present and verified after the restart that followed",
            "  uploads cut off by a kill:        \(uploadsCutOff) (\(uploadsCommittedUnacknowledged) had committed: present and verified; the rest absent)",
            "  opt-outs acknowledged:            \(revocationsAcknowledged), every one in force after the restart",
            "  opt-outs cut off by a kill:       \(revocationsCutOff) (\(revocationsCommittedUnacknowledged) had committed)",
            "  releases published:               \(releasesAcknowledged)",
            "  checkpoints handed out, checked:  \(checkpointsChecked) distinct, each consistent with the log after the kill",
            "  contributions downloaded, verified: \(contributionsVerified)",
            "  audits passed:                    \(auditsPassed) of \(cycles)",
            String(format: "  restart to first answer:          p50 %.2f s, max %.2f s", pct(0.5), restarts.last ?? 0),
            "  final log size:                   \(finalLogSize) entries",
        ]
        lines.append(failureCount == 0 ? "PASSED: no acknowledged write lost, nothing half-present, no inconsistent checkpoint"
                                       : "FAILED: \(failureCount) problem(s)")
        lines += failures.map { "  - " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// Kills `tributary serve` with SIGKILL at random moments while organisations upload and opt out and
/// the operator publishes releases, restarts it, and checks after each restart: every acknowledged
/// contribution and opt-out is there and verifies; a cut-off upload is either wholly there or wholly
/// absent (no staged files, no orphan blobs, no unfinished release); every checkpoint handed out
/// before the kill is consistent with the log now; and the auditor, keeping its state across
/// cycles, verifies the log and the latest release. Loopback only.
public struct FaultDrill: Sendable {
    public let binary: String
    public let work: String
    public let options: FaultDrillOptions
    /// Built in `work` when not given; its organisations must be named org0, org1, ….
    public let deployment: SmallDeployment?

    public init(binary: String, work: String, options: FaultDrillOptions, deployment: SmallDeployment? = nil) {
        self.binary = binary
        self.work = work
        self.options = options
        self.deployment = deployment
    }

    static func httpClient() -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // A refused connection (the server was just killed) fails at once rather than being retried
        // for the default 10 s.
        c.timeout = .init(connect: .seconds(1))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: c)
    }

    public func run(log: @escaping @Sendable (String) -> Void) async throws -> FaultDrillReport {
        let t0 = DrillWorkers.now()
        let domains = DemoCorpora.privateDomains.map(\.name)
        let names = (0..<options.uploaders).map { "org\($0)" }
        let deployment = try DrillSetup.deployment(self.deployment, work: work, organisations: names, log: log)
        let data = work + "/server", scratch = work + "/scratch", auditState = work + "/audit-state"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let (server, logKey) = try await DrillSetup.startServer(binary: binary, work: work, deployment: deployment, origin: "drill.tributary/log")
        defer { server.kill() }
        let setup = try TributaryClient(server: server.url)
        for name in names { _ = try await setup.enrol(deployment.organisations[name]!.key.verifierKey, operatorKey: deployment.operatorKey) }

        let ledger = DrillLedger()
        var report = FaultDrillReport()
        var rng = RNG(seed: options.seed)
        var lastVerified = try TributaryLog.Checkpoint.verify(note: try await setup.checkpoint(), key: logKey)
        var blobs = Set<String>()
        log("server up on \(server.url); \(options.cycles) cycles of load, SIGKILL, restart, checks")
        for cycle in 1...options.cycles {
            await ledger.beginPhase()
            let http = Self.httpClient()
            var client = try TributaryClient(server: server.url, http: http)
            client.timeoutSeconds = 60
            let workers = DrillWorkers(client: client, ledger: ledger, deployment: deployment, logKey: logKey, scratch: scratch)
            let seed = rng.next(), uptime = options.uptime.lowerBound + (options.uptime.upperBound - options.uptime.lowerBound) * rng.uniformDouble()
            let (pause, keepLive, interval) = (options.uploadPause, options.keepLive, options.releaseInterval)
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (i, name) in names.enumerated() { group.addTask { await workers.uploader(name, pause: pause, seed: seed &+ UInt64(i)) } }
                    group.addTask { await workers.revoker(keepLive: keepLive, seed: seed &+ 100) }
                    group.addTask { await workers.publisher(interval: interval) }
                    group.addTask { await workers.checkpointWatcher(interval: 0.05) }
                }
            }
            try await Task.sleep(nanoseconds: UInt64(uptime * 1e9))
            await ledger.stop()
            server.kill()
            await load.value
            try? await http.shutdown()

            report.restartSeconds.append(try await server.start())
            let checker = DrillChecks(client: try TributaryClient(server: server.url), ledger: ledger, deployment: deployment,
                                      logKey: logKey, dataDirectory: data, scratch: scratch)
            let (now, checked) = try await checker.consistency(with: await ledger.checkpoints + [lastVerified])
            lastVerified = now
            report.checkpointsChecked += checked
            try await checker.settle(cycle: cycle, report: &report, blobs: &blobs)
            await checker.storageIsTidy(expectedBlobs: blobs)
            let audit = try await checker.audit(state: auditState)
            if audit.passed { report.auditsPassed += 1 }
            report.finalLogSize = now.size
            report.cycles = cycle
            for (sent, _) in await ledger.acknowledged { try? FileManager.default.removeItem(atPath: sent.directory) }
            for sent in await ledger.interrupted { try? FileManager.default.removeItem(atPath: sent.directory) }
            let failures = await ledger.failureCount
            log(String(format: "cycle %d/%d: killed after %.2f s; log %d entries, %d live experts; restart %.2f s; audit %@%@", cycle, options.cycles,
                       uptime, now.size, await ledger.liveCount(), report.restartSeconds.last!, audit.passed ? "ok" : "FAILED",
                       failures > 0 ? "; \(failures) failure(s)" : ""))
            if failures > 0 { break }
        }
        report.releasesAcknowledged = await ledger.outcomes["release"]?["201"] ?? 0
        report.failureCount = await ledger.failureCount
        report.failures = await ledger.failures
        report.seconds = DrillWorkers.now() - t0
        server.stop()
        return report
    }
}
