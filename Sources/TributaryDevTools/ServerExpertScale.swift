import Foundation
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryModel
import TributaryRouting
import TributaryHarness

/// How a real server grows with its number of contributions: N organisations enrolled and N signed
/// uploads over HTTP (the SmallDeployment's tiny anchor, so each verification is cheap), then the
/// release build, `/v1/route` for one text and for a batch, a fresh auditor's whole audit and the
/// server's peak memory. Each upload is one of the deployment's trained bundles with one weight
/// nudged (so no two are the same bytes) and its centroids replaced by random unit vectors (so the
/// routing index holds N distinct experts).
public struct ServerExpertScale: Sendable {
    public struct Figures: Sendable {
        public var experts = 0
        public var uploadSeconds = 0.0, releaseSeconds = 0.0, auditSeconds = 0.0
        public var routeOne: (p50: Double, p99: Double) = (0, 0)
        public var routeBatch: (p50: Double, p99: Double) = (0, 0)
        public var releaseBytes = 0
        public var peakRSSMiB = 0
    }

    public let binary: String
    public let work: String
    public let batch: Int
    public let requests: Int
    public init(binary: String, work: String, batch: Int = 256, requests: Int = 200) {
        self.binary = binary
        self.work = work
        self.batch = batch
        self.requests = requests
    }

    static let origin = "bench.tributary.local/log"

    public func run(experts counts: [Int], log: (String) -> Void) async throws -> [Figures] {
        let domains = DemoCorpora.privateDomains.map(\.name)
        let deployment = try DrillSetup.deployment(nil, work: work, organisations: domains.map { "base-\($0)" }, log: log)
        var out = [Figures]()
        for n in counts {
            log("== \(n) contributions")
            out.append(try await measure(n, deployment: deployment, bases: domains.map { "base-\($0)" }, log: log))
        }
        return out
    }

    func measure(_ n: Int, deployment: SmallDeployment, bases: [String], log: (String) -> Void) async throws -> Figures {
        let dir = work + "/n\(n)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (server, logKey) = try await DrillSetup.startServer(binary: binary, work: dir, deployment: deployment, origin: Self.origin)
        defer { server.stop() }
        let client = try TributaryClient(server: server.url)
        var f = Figures()
        f.experts = n

        let keys = try (0..<n).map { try SigningKey.generate(name: "org\($0)") }
        for k in keys { _ = try await client.enrol(k.verifierKey, operatorKey: deployment.operatorKey) }
        let bundles = try (0..<n).map { i in
            try deployment.signedBundle(bases[i % bases.count], in: dir + "/bundles/\(i)", origin: Self.origin, signer: keys[i]) { try Self.vary($0, seed: UInt64(i)) }
        }
        log("   \(n) organisations enrolled, \(n) bundles signed; uploading")
        var t = ProcessInfo.processInfo.systemUptime
        try await withThrowingTaskGroup(of: Void.self) { group in
            let lanes = 4
            for lane in 0..<lanes {
                group.addTask {
                    for i in stride(from: lane, to: n, by: lanes) { _ = try await client.submit(bundle: bundles[i].directory) }
                }
            }
            try await group.waitForAll()
        }
        f.uploadSeconds = ProcessInfo.processInfo.systemUptime - t

        t = ProcessInfo.processInfo.systemUptime
        let release = try await client.publishRelease(operatorKey: deployment.operatorKey)
        f.releaseSeconds = ProcessInfo.processInfo.systemUptime - t
        let number = release.release
        f.releaseBytes = (try? FileManager.default.attributesOfItem(atPath: dir + "/server/releases/" + String(format: "%06d", number) + "/model.safetensors")[.size] as? Int) ?? 0
        log(String(format: "   uploads %.1f s, release %d built in %.2f s", f.uploadSeconds, number, f.releaseSeconds))

        let text = "#include <linux/types.h>\nstruct timespec { long tv_sec; long tv_nsec; };\n"
        f.routeOne = try await latencies(requests) { _ = try await client.route(RouteRequest(.text(text))) }
        let texts = (0..<batch).map { text + String($0) }
        f.routeBatch = try await latencies(max(10, requests / 10)) { _ = try await client.route(RouteRequest(.texts(texts))) }

        t = ProcessInfo.processInfo.systemUptime
        let options = AuditOptions(logKey: logKey, operatorKey: deployment.operatorKey.verifierKey, stateDirectory: dir + "/auditor")
        let report = try await Auditor(source: ServerLogSource(client: client), options: options).run()
        f.auditSeconds = ProcessInfo.processInfo.systemUptime - t
        guard report.passed, report.contributions == n else {
            throw TributaryError("bench.audit", "the audit did not pass with \(n) contributions: \(report.findings.map(\.message).prefix(3))")
        }
        f.peakRSSMiB = server.processIdentifier.map(Self.peakRSSMiB) ?? 0
        return f
    }

    /// p50 and p99 in milliseconds of `count` requests made one after another.
    func latencies(_ count: Int, _ request: () async throws -> Void) async throws -> (p50: Double, p99: Double) {
        var ms = [Double]()
        for _ in 0..<max(1, count) {
            let t = ProcessInfo.processInfo.systemUptime
            try await request()
            ms.append((ProcessInfo.processInfo.systemUptime - t) * 1000)
        }
        ms.sort()
        return (ms[ms.count / 2], ms[min(ms.count - 1, Int(Double(ms.count) * 0.99))])
    }

    /// One expert weight nudged and the centroids replaced by seeded random unit vectors.
    static func vary(_ bundle: String, seed: UInt64) throws {
        let expertPath = bundle + "/" + BundleLayout.expertFile, routingPath = bundle + "/" + BundleLayout.routingFile
        let source = try SafetensorsFile(path: expertPath)
        var w = SafetensorsWriter(metadata: source.metadata)
        for (i, t) in source.tensors.enumerated() {
            var v = try source.floats(t)
            if i == 0 { v[Int(seed) % v.count] += Float(seed + 1) * 1e-6 }
            w.add(t.name, shape: t.shape, values: v)
        }
        try w.write(to: expertPath)
        var signature = try RoutingSignature.read(routingPath)
        var rng = RNG(seed: 1000 + seed)
        signature.centroids = randomUnitVectors(signature.k, dimension: signature.centroidDimension, rng: &rng)
        try signature.write(to: routingPath)
    }

    /// VmHWM of a process, in MiB.
    static func peakRSSMiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") else { return 0 }
        return kb / 1024
    }
}

/// `count` seeded random unit vectors of `dimension`, [count * dimension]: synthetic centroids and
/// queries for the scale benchmarks.
public func randomUnitVectors(_ count: Int, dimension: Int, rng: inout RNG) -> [Float] {
    (0..<count).flatMap { _ -> [Float] in
        let v = (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) }
        let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-6)
        return v.map { $0 / norm }
    }
}
