import Foundation
import Logging
import Testing
import TributaryClient
import TributaryCore
import TributaryDemo
import TributaryLog
import TributaryModel
import TributaryRouting
@testable import TributaryServer

/// A tiny anchor trained on real public text, two organisations with keys, and their unsigned
/// bundles (trained for a few steps on two demo domains). Built once per test process.
struct Fixture: Sendable {
    let work: String
    let anchorDir: String
    let probe: [String]
    let publicDir: String
    let orgs: [String: Org]
    let operatorKey: SigningKey

    struct Org: Sendable {
        let name: String
        let key: SigningKey
        /// Unsigned bundle files (expert.safetensors, routing.safetensors); copy before signing.
        let unsignedBundle: String
    }

    static let config = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 64)
    static let shared = Task<Fixture, Error> { try await build() }

    static func options(steps: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps
        o.batchSize = 8
        o.seqLen = 64
        o.learningRate = 3e-3
        o.warmupSteps = 3
        o.checkpointEvery = 0
        return o
    }

    static func build() async throws -> Fixture {
        let work = NSTemporaryDirectory() + "tributary-server-fixture-" + Hex.encode(secureRandomBytes(6))
        try DemoCorpora(documentsPerDomain: 120, bytesPerDocument: 3000, publicBytes: 400_000).prepare(workdir: work)
        let publicDir = DemoCorpora.directory(work, DemoCorpora.publicDomain)
        let (pubTrain, pubHeld) = try Corpus.load(paths: [publicDir]).split(heldOutFraction: 0.2)
        _ = try AnchorTraining.train(config: config, train: pubTrain, heldOut: nil, options: options(steps: 80), out: work + "/anchor",
                                     restart: false, progress: nil) {
            AnchorRouting.centroids($0, layers: config.numLayers, hidden: config.hiddenSize, clusters: 4, seed: 1)
        }
        // Probe: a few held-out public documents, written as files.
        try FileManager.default.createDirectory(atPath: work + "/probe", withIntermediateDirectories: true)
        for (i, d) in pubHeld.documents.prefix(6).enumerated() { try AtomicFileWriter.write(d.bytes, to: work + "/probe/\(i).txt") }
        let anchor = try AnchorDirectory.load(work + "/anchor")
        var orgs = [String: Org]()
        for (name, domain) in [("acme", "c-headers"), ("globex", "python")] {
            let data = try Corpus.load(paths: [DemoCorpora.directory(work, domain)])
            var sig = SignatureOptions()
            sig.epsilon = 4
            sig.clusters = 1
            var noise = SeededNoise(seed: 7)
            let r = try ContributionPipeline.train(anchor: anchor, data: data, publicText: pubTrain, training: options(steps: 12),
                                                   signature: sig, out: work + "/\(name)", restart: false, progress: nil, noise: &noise)
            orgs[name] = Org(name: name, key: try SigningKey.generate(name: name), unsignedBundle: r.bundle)
        }
        return Fixture(work: work, anchorDir: work + "/anchor", probe: [work + "/probe"], publicDir: publicDir, orgs: orgs,
                       operatorKey: try SigningKey.generate(name: "operator"))
    }

    /// A fresh copy of an organisation's bundle, signed by `signer` (default: the organisation's key).
    func signedBundle(_ org: String, signer: SigningKey? = nil, mutate: ((String) throws -> Void)? = nil) throws -> String {
        let dir = NSTemporaryDirectory() + "tributary-bundle-" + Hex.encode(secureRandomBytes(6))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in BundleLayout.subjectFiles { try FileManager.default.copyItem(atPath: orgs[org]!.unsignedBundle + "/" + f, toPath: dir + "/" + f) }
        try mutate?(dir)
        try ContributionBundle.sign(directory: dir, key: signer ?? orgs[org]!.key)
        return dir
    }

    func serverConfig(_ dir: String) -> ServerConfig {
        var c = ServerConfig(directory: dir, anchor: anchorDir, probe: probe)
        c.port = 0
        c.origin = "test.tributary/log"
        c.operatorKey = operatorKey.verifierKey
        return c
    }
}

/// A server on loopback (port 0) for one test, with a client pointed at it.
final class RunningServer: @unchecked Sendable {
    let server: AggregationServer
    let client: TributaryClient
    let port: Int
    private let task: Task<Void, Error>

    static func start(_ config: ServerConfig) async throws -> RunningServer {
        var logger = Logger(label: "tributary.test")
        logger.logLevel = .warning
        let server = try await AggregationServer.open(config, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try ServerApplication.make(server: server) { continuation.yield($0) }
        let task = Task { try await app.run() }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw TributaryError("test.server", "server did not start") }
        return RunningServer(server: server, client: try TributaryClient(server: "http://127.0.0.1:\(port)"), port: port, task: task)
    }

    private init(server: AggregationServer, client: TributaryClient, port: Int, task: Task<Void, Error>) {
        self.server = server
        self.client = client
        self.port = port
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// Waits until the latest release lists exactly `contributions` (log indices).
    func waitForRelease(with contributions: [UInt64], timeout: Double = 60) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = try? await client.getJSON("/v1/releases/latest"), case let .array(experts)? = r["experts"] {
                let got = experts.dropFirst().compactMap { e -> UInt64? in if case let .number(t)? = e["contribution"] { return UInt64(t) } else { return nil } }
                if got == contributions { return r }
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw TributaryError("test.timeout", "no release with contributions \(contributions)")
    }
}

func tempDir(_ label: String) -> String {
    let d = NSTemporaryDirectory() + "tributary-\(label)-" + Hex.encode(secureRandomBytes(6))
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
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
