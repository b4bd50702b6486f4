import Foundation
import Logging
import Testing
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryDevTools
import TributaryLog
import TributaryModel
import TributaryRouting
@testable import TributaryServer
import TributaryTestSupport

/// The server tests' deployment (TributaryDemo's SmallDeployment): a tiny anchor trained on real public
/// text, two organisations with keys and unsigned bundles for two demo domains. Built once per process.
struct Fixture: Sendable {
    let deployment: SmallDeployment
    var work: String { deployment.work }
    var anchorDir: String { deployment.anchor }
    var probe: [String] { deployment.probe }
    var publicDir: String { deployment.publicText }
    var orgs: [String: SmallDeployment.Organisation] { deployment.organisations }
    var operatorKey: SigningKey { deployment.operatorKey }

    static let config = SmallDeployment.config
    static let shared = Task<Fixture, Error> {
        let work = scratchPath("server-fixture")
        // initech contributes a LoRA expert (rank 4) on globex's domain: full and LoRA experts in one release.
        return Fixture(deployment: try SmallDeployment.build(work: work, organisations: [("acme", "linux-uapi"), ("globex", "perl"), ("initech", "perl")],
                                                             lora: ["initech": try LoRAParameters(rank: 4, alpha: 8)]))
    }

    static func options(steps: Int) -> TrainingOptions { SmallDeployment.trainingOptions(steps: steps) }

    /// The test servers' log origin.
    static let origin = "test.tributary/log"

    /// A fresh copy of an organisation's bundle, signed by `signer` (default: the organisation's key)
    /// for `origin` (default: the test servers').
    func signedBundle(_ org: String, signer: SigningKey? = nil, origin: String = Fixture.origin,
                      mutate: ((String) throws -> Void)? = nil) throws -> String {
        let dir = scratchPath("bundle")
        try deployment.signedBundle(org, in: dir, origin: origin, signer: signer, mutate: mutate)
        return dir
    }

    /// A signed request for the test servers, by `key` (default: the operator's).
    func request(_ action: String, _ parameters: [(String, JSONValue)], key: SigningKey? = nil, origin: String = Fixture.origin,
                 now: String = Timestamp.nowRFC3339()) -> [UInt8] {
        SignedRequest.make(origin: origin, action: action, parameters: .object(parameters), key: key ?? operatorKey, now: now)
    }

    /// Enrols an organisation directly on the server object, with an operator-signed request.
    @discardableResult
    func enrol(_ org: String, on server: AggregationServer) async throws -> AppendResult {
        let key = orgs[org]!.key.verifierKey
        return try await server.enrol(key, request: request("enrol", [("verifierKey", .string(key.encoded))]))
    }

    /// With `TRIBUTARY_TEST_BACKEND=postgres`, on a PostgreSQL database of its own (`TestPostgres`).
    func serverConfig(_ dir: String) -> ServerConfig {
        var c = ServerConfig(directory: dir, anchor: anchorDir, probe: probe)
        if TestPostgres.selected { c.database = .postgres(TestPostgres.database(for: dir)) }
        c.port = 0
        // The suite runs its clients and servers in one process on a loaded machine: the envelope
        // deadline's own tests set it short.
        c.envelopeDeadlineSeconds = 60
        // Likewise the idle timeout: NIO counts it on its own thread, while a starved cooperative pool
        // stops the in-process client sending and the handler reading (a fresh-clone CI run saw an
        // upload cut mid-body, "stream ended at an unexpected time"). Its own tests set it short.
        c.idleTimeoutSeconds = 300
        // The server's witness, release and lease loops on threads of their own (ServiceRun.swift).
        c.taskExecutor = ServerThreads.shared
        c.origin = Fixture.origin
        c.operatorKey = operatorKey.verifierKey
        return c
    }
}

/// A server on loopback (port 0) for one test, with a client pointed at it.
final class RunningServer: @unchecked Sendable {
    let server: AggregationServer
    let client: TributaryClient
    let port: Int
    private let task: ServiceRun

    static func start(_ config: ServerConfig) async throws -> RunningServer {
        var logger = Logger(label: "tributary.test")
        logger.logLevel = .warning
        let server = try await AggregationServer.open(config, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try ServerApplication.make(server: server) { continuation.yield($0) }
        let task = ServiceRun(app, logger: logger)
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw TributaryError("test.server", "server did not start") }
        return RunningServer(server: server, client: try TributaryClient(server: "http://127.0.0.1:\(port)"), port: port, task: task)
    }

    private init(server: AggregationServer, client: TributaryClient, port: Int, task: ServiceRun) {
        self.server = server
        self.client = client
        self.port = port
        self.task = task
    }

    func stop() async {
        server.shutdown()
        await task.stop()
    }

    /// Waits until the latest release lists exactly `contributions` (log indices).
    func waitForRelease(with contributions: [UInt64], timeout: Double = 60) async throws -> ReleaseAnswer {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = try? await client.latestRelease(), r.manifest.experts.map(\.contribution) == contributions { return r }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw TributaryError("test.timeout", "no release with contributions \(contributions)")
    }
}

/// File names and sizes under a directory: what "nothing was stored" compares.
func listing(_ dir: String) -> [String: Int] {
    var out = [String: Int]()
    guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
    while let rel = e.nextObject() as? String {
        if rel.hasPrefix("tmp") { continue }
        let attrs = try? FileManager.default.attributesOfItem(atPath: dir + "/" + rel)
        if attrs?[.type] as? FileAttributeType == .typeRegular { out[rel] = (attrs?[.size] as? Int) ?? -1 }
    }
    return out
}

/// The throw-away PostgreSQL cluster scripts/test.sh starts (scripts/postgres-test-cluster.sh):
/// `TRIBUTARY_TEST_POSTGRES` names it; `TRIBUTARY_TEST_BACKEND=postgres` runs every server test on it.
enum TestPostgres {
    static let environment = ProcessInfo.processInfo.environment

    static var cluster: PostgresLocation? {
        guard let url = environment["TRIBUTARY_TEST_POSTGRES"] else { return nil }
        return try? PostgresLocation.parse(url, passwordFile: environment["TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE"])
    }

    static var selected: Bool { environment["TRIBUTARY_TEST_BACKEND"] == "postgres" }

    /// A database of its own for `key` (a test's data directory), created on first use: a server
    /// restarted on the same directory finds its state again, and tests running at once never meet.
    static func database(for key: String) -> PostgresLocation {
        guard var location = cluster else { fatalError("TRIBUTARY_TEST_BACKEND=postgres needs TRIBUTARY_TEST_POSTGRES (scripts/test.sh starts a cluster)") }
        let name = "t_" + Hex.encode(Array(SHA256.digest(Array(key.utf8)).prefix(8)))
        do {
            let admin = try PostgresDatabase(location)
            if try admin.first("SELECT 1 FROM pg_database WHERE datname = ?", [.text(name)], { _ in true }) == nil {
                try admin.execute("CREATE DATABASE \(name)")
            }
        } catch {
            fatalError("cannot create test database \(name) on \(location): \(error)")
        }
        location.database = name
        return location
    }
}

/// A server for one test in a fresh scratch directory, publishing only when told (no automatic
/// releases), with `enrolling` organisations enrolled; `close()` stops it and removes the directory.
struct ServerScene {
    let f: Fixture
    let s: RunningServer
    let dir: String

    static func start(_ label: String, enrolling organisations: [String] = ["acme", "globex"],
                      configure: (inout ServerConfig) -> Void = { _ in }) async throws -> ServerScene {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory(label)
        var config = f.serverConfig(dir)
        config.autoRelease = false
        configure(&config)
        let s = try await RunningServer.start(config)
        for org in organisations { try await f.enrol(org, on: s.server) }
        return ServerScene(f: f, s: s, dir: dir)
    }

    func close() async {
        await s.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
