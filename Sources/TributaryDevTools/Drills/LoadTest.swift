import Foundation
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryHarness

public struct LoadTestOptions: Sendable {
    public var uploaders = 20
    public var routers = 200
    public var seconds = 180.0
    /// Pause between one organisation's uploads, seconds.
    public var uploadPause: ClosedRange<Double> = 0.5...1.5
    public var keepLive = 12
    public var releaseInterval = 2.0
    public var seed: UInt64 = 1
    /// With a database: this many replicas on it (routing clients and uploaders spread over them).
    public var replicas = 1
    public init() {}
}

public struct LoadTestReport: Sendable {
    public struct Operation: Sendable {
        public let name: String
        public let outcomes: [String: Int]
        public let latencies: [Double]
        public func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
    }
    public var seconds = 0.0
    public var uploaders = 0, routers = 0
    /// "SQLite, 1 server" or "PostgreSQL, N replicas".
    public var setup = ""
    public var operations: [Operation] = []
    public var acknowledgedUploads = 0
    public var verifiedAfterwards = 0
    public var lost = 0
    public var finalLogSize: UInt64 = 0
    public var auditPassed = false
    public var failureCount = 0
    public var failures: [String] = []

    public var serverErrors: Int { operations.reduce(0) { $0 + ($1.outcomes["5xx"] ?? 0) } }
    public var passed: Bool { failureCount == 0 && serverErrors == 0 && lost == 0 && auditPassed }

    public var text: String {
        var lines = [String(format: "load test: %d uploading organisations and %d routing clients for %.0f s (loopback; %@)", uploaders, routers, seconds, setup),
                     "  operation   requests    req/s     p50 ms    p99 ms    max ms   outcomes"]
        for op in operations {
            let n = op.outcomes.values.reduce(0, +)
            let outcomes = op.outcomes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
            lines.append(String(format: "  %-9@ %9d %8.1f %10.1f %9.1f %9.1f   %@", op.name, n, Double(n) / seconds, op.percentile(0.5) * 1000,
                                op.percentile(0.99) * 1000, (op.latencies.last ?? 0) * 1000, outcomes))
        }
        lines.append("  5xx responses: \(serverErrors) (besides \(operations.reduce(0) { $0 + ($1.outcomes["503-busy"] ?? 0) }) × 503 api.busy: the server's backpressure, each retried after a pause)")
        lines.append("  acknowledged contributions: \(acknowledgedUploads); present and verified afterwards: \(verifiedAfterwards); lost: \(lost)")
        lines.append("  final log size: \(finalLogSize) entries; audit: \(auditPassed ? "verified" : "FAILED")")
        lines.append(passed ? "PASSED" : "FAILED: \(failureCount) problem(s)")
        lines += failures.map { "  - " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// Many organisations uploading and opting out, many routing users querying, and an operator
/// publishing releases, all at once against one `tributary serve` on loopback for a fixed time; then
/// every acknowledged contribution is downloaded and verified and the log is audited.
public struct LoadTest: Sendable {
    public let binary: String
    public let work: String
    public let options: LoadTestOptions
    /// Built in `work` when not given; its organisations must be named org0, org1, ….
    public let deployment: SmallDeployment?
    /// nil: one server on SQLite; else `options.replicas` replicas on a new database of it.
    public let database: DrillDatabase?

    public init(binary: String, work: String, options: LoadTestOptions, deployment: SmallDeployment? = nil, database: DrillDatabase? = nil) {
        self.binary = binary
        self.work = work
        self.options = options
        self.deployment = deployment
        self.database = database
    }

    public func run(log: @escaping @Sendable (String) -> Void) async throws -> LoadTestReport {
        let domains = DemoCorpora.privateDomains.map(\.name)
        let names = (0..<options.uploaders).map { "org\($0)" }
        let deployment = try DrillSetup.deployment(self.deployment, work: work, organisations: names, log: log)
        let scratch = work + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let servers: [ServerProcess], logKey: VerifierKey, data: String
        var replicas: ReplicaSet?
        if let database {
            let url = try database.createDatabase("load_" + Hex.encode(secureRandomBytes(5)))
            let set = try await ReplicaSet.start(binary: binary, work: work, deployment: deployment, database: database, databaseURL: url,
                                                 count: options.replicas, origin: "load.tributary/log", extra: ["--no-auto-release"])
            (servers, logKey, data, replicas) = (set.servers, set.logKey, set.store, set)
        } else {
            let (server, key) = try await DrillSetup.startServer(binary: binary, work: work, deployment: deployment, origin: "load.tributary/log")
            (servers, logKey, data) = ([server], key, work + "/server")
        }
        defer { for s in servers { s.kill() } }
        let http = FaultDrill.httpClient()
        let clients = try servers.map { s -> TributaryClient in
            var c = try TributaryClient(server: s.url, http: http)
            c.timeoutSeconds = 120
            return c
        }
        let client = clients[0]
        for name in names { _ = try await client.enrol(deployment.organisations[name]!.key.verifierKey, operatorKey: deployment.operatorKey) }
        // Routing needs a release: one contribution and a release first.
        try deployment.signedBundle(names[0], in: scratch + "/first", origin: logKey.name)
        let warmUp = try await client.submit(bundle: scratch + "/first")
        let first = try await client.publishRelease(operatorKey: deployment.operatorKey)
        // Every replica routes with it before the load begins (each adopts it at its next poll).
        if let replicas { _ = try await replicas.waitForRelease(first.release) }

        var texts = [String]()
        for d in [DemoCorpora.publicDomain] + domains {
            let corpus = try Corpus.load(paths: [DemoCorpora.directory(deployment.work, d)])
            texts += corpus.documents.prefix(20).map { String(decoding: $0.bytes.prefix(400), as: UTF8.self) }
        }
        let ledger = DrillLedger()
        await ledger.beginPhase()
        await ledger.discovered(warmUp.logIndex, organisation: names[0], revoked: false)
        let workers = clients.map { DrillWorkers(client: $0, ledger: ledger, deployment: deployment, logKey: logKey, scratch: scratch) }
        let o = options, queries = texts, n = workers.count
        log("\(n) server(s) up on \(servers.map(\.url).joined(separator: ", ")); \(o.uploaders) uploaders, \(o.routers) routing clients for \(Int(o.seconds)) s")
        let t0 = DrillWorkers.now()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for (i, name) in names.enumerated() { group.addTask { await workers[i % n].uploader(name, pause: o.uploadPause, seed: o.seed &+ UInt64(i)) } }
                for i in 0..<o.routers { group.addTask { await workers[i % n].router(texts: queries, seed: o.seed &+ 1000 &+ UInt64(i)) } }
                group.addTask { await workers[1 % n].revoker(keepLive: o.keepLive, seed: o.seed &+ 100) }
                group.addTask { await workers[2 % n].publisher(interval: o.releaseInterval) }
                for w in workers { group.addTask { await w.checkpointWatcher(interval: 0.5) } }
            }
        }
        var next = 30.0
        while DrillWorkers.now() - t0 < o.seconds {
            try await Task.sleep(nanoseconds: 500_000_000)
            if DrillWorkers.now() - t0 >= next {
                let route = await ledger.outcomes["route"]?.values.reduce(0, +) ?? 0
                log("  \(Int(next)) s: \(await ledger.acknowledged.count) contributions acknowledged, \(route) routing queries, \(await ledger.failureCount) failure(s)")
                next += 30
            }
        }
        await ledger.stop()
        await load.value
        var report = LoadTestReport()
        report.seconds = DrillWorkers.now() - t0
        report.uploaders = o.uploaders
        report.routers = o.routers
        report.setup = database == nil ? "SQLite, 1 server" : "PostgreSQL, \(n) replica\(n == 1 ? "" : "s")"
        let (outcomes, latencies) = (await ledger.outcomes, await ledger.latencies)
        for (name, counts) in outcomes.sorted(by: { $0.key < $1.key }) {
            report.operations.append(.init(name: name, outcomes: counts, latencies: (latencies[name] ?? []).sorted()))
        }

        log("checking every acknowledged contribution and auditing the log")
        let checker = DrillChecks(client: client, ledger: ledger, deployment: deployment, logKey: logKey, dataDirectory: data, scratch: scratch)
        let (now, _) = try await checker.consistency(with: await ledger.checkpoints)
        for (sent, index) in await ledger.acknowledged {
            report.acknowledgedUploads += 1
            if let stored = try await checker.verifyStored(sent), stored.index == index { report.verifiedAfterwards += 1 } else {
                report.lost += 1
                await ledger.fail("acknowledged contribution \(index) is missing or moved")
            }
        }
        let audit = try await checker.audit(state: work + "/audit-state")
        report.auditPassed = audit.passed
        report.finalLogSize = now.size
        report.failureCount = await ledger.failureCount
        report.failures = await ledger.failures
        try? await http.shutdown()
        for s in servers { s.stop() }
        return report
    }
}
