import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting
@_spi(Benchmarks) import TributaryServer
import TributaryContribution
import TributaryDevTools

/// Builds a server data directory whose log holds `entries` synthetic entries, for proof-latency runs,
/// and measures proof generation in-process.
struct BenchLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-log",
        abstract: "Fill a data directory's log with synthetic entries and time inclusion and consistency proofs.")
    @Option(name: .customLong("dir"), help: "Data directory to create (for `tributary serve --dir`).") var directory: String
    @Option(help: "Anchor the data directory is for.") var anchor: String
    @Option var entries = 1_000_000
    @Option var samples = 2000
    @Option var origin = "tributary.local/log"

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var config = ServerConfig(directory: directory, anchor: anchor, probe: [])
            config.origin = origin
            let key = try AggregationServer.loadOrCreateLogKey(config, logger: .init(label: "bench"))
            let store = try MetadataStore(path: config.databasePath, logKey: key, anchorDigest: try AnchorDirectory.digest(anchor))
            let t0 = ProgressReporter.now()
            try await store.appendSyntheticEntries(entries)
            let fill = ProgressReporter.now() - t0
            let size = await store.logSize
            let root = try await store.root(size: size)
            var rng = RNG(seed: 1)
            var inclusion = [Double](), consistency = [Double]()
            for _ in 0..<samples {
                let i = UInt64(rng.below(Int(size)))
                let a = ProgressReporter.now()
                let proof = try await store.inclusionProof(index: i, size: size)
                inclusion.append(ProgressReporter.now() - a)
                let leaf = MerkleHash.leaf(try await store.entries(start: i, end: i + 1)[0])
                guard ProofVerification.inclusion(index: i, size: size, leafHash: leaf, proof: proof, root: root) else {
                    throw TributaryError("bench.proof", "inclusion proof for \(i) does not verify")
                }
                let m = UInt64(rng.below(Int(size)) + 1)
                let b = ProgressReporter.now()
                _ = try await store.consistencyProof(first: m, second: size)
                consistency.append(ProgressReporter.now() - b)
            }
            func pct(_ v: [Double], _ p: Double) -> Double { v.sorted()[min(v.count - 1, Int(Double(v.count) * p))] * 1000 }
            print(String(format: "log of %d entries built in %.1f s", size, fill))
            print(String(format: "inclusion proof (in-process, %d samples): p50 %.3f ms, p99 %.3f ms", samples, pct(inclusion, 0.5), pct(inclusion, 0.99)))
            print(String(format: "consistency proof (in-process): p50 %.3f ms, p99 %.3f ms", pct(consistency, 0.5), pct(consistency, 0.99)))
        }
    }
}

/// A large random anchor and a signed bundle for it, to benchmark uploads of big experts.
struct BenchFixturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-fixtures",
        abstract: "Write a random anchor of the given size and a signed expert bundle for it.")
    @Option var out: String
    @Option var hidden = 1024
    @Option var layers = 8
    @Option var heads = 8
    @Option var intermediate = 10923
    @Option(parsing: .upToNextOption, help: "A little public text for the anchor's routing entry.") var text: [String]
    @Option(help: "Log origin of the server the bundle is for.") var origin = "tributary.local/log"

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let config = ModelConfig(hiddenSize: hidden, numLayers: layers, numHeads: heads, intermediateSize: intermediate, contextLength: 128)
            try config.validate()
            var o = Corpus.LoadOptions()
            o.maxTotalBytes = 4096
            let corpus = try Corpus.load(paths: text, options: o)
            let model = Model.initialised(config: config, seed: 5)
            try ModelDirectory.save(model, to: out + "/anchor")
            try AnchorDirectory.writeRouting(model: model, publicText: corpus, clusters: 1, seed: 1, workers: 2, to: out + "/anchor")
            let anchor = try AnchorDirectory.load(out + "/anchor")
            // The expert: the anchor's FFN, slightly perturbed; the signature: a DP-shaped one built without data.
            var expert = ExpertWeights(denseFFNOf: model)
            var rng = RNG(seed: 9)
            for l in 0..<layers { expert.w2[l] = expert.w2[l].map { $0 + Float(rng.normal() * 1e-4) } }
            try FileManager.default.createDirectory(atPath: out + "/bundle", withIntermediateDirectories: true)
            var w = SafetensorsWriter(metadata: [
                BundleLayout.anchorMetadataKey: anchor.digest,
                BundleLayout.trainingMetadataKey: JSONWriter.string(TrainingSummary(recipe: "flexolmo-v1", steps: 0, tokens: 0, batchSize: 1,
                                                                                     contextLength: 128, learningRate: 0, seed: 1, finalLoss: 0).json),
            ])
            expert.add(to: &w, config: config)
            try w.write(to: out + "/bundle/" + BundleLayout.expertFile)
            let stats = Evaluator.documentStatistics(model: model, corpus: corpus, maxTokensPerDocument: 256)
            var sig = SignatureOptions()
            sig.clusters = 1
            sig.minClusterSize = 32
            sig.epsilon = 4
            sig.routerRowSource = .dpMean
            var noise = SecureNoise()
            let signature = try SignatureBuilder.build(stats: SignatureStatistics(stats, space: anchor.space, layers: layers, hidden: hidden), options: sig, plan: try SignatureBuilder.plan(sig), noise: &noise)
            try signature.write(to: out + "/bundle/" + BundleLayout.routingFile)
            let key = try SigningKey.generate(name: "bench")
            try FileManager.default.createDirectory(atPath: out + "/keys", withIntermediateDirectories: true)
            try AtomicFileWriter.write(Array((key.encodedPrivateKey() + "\n").utf8), to: out + "/keys/bench.key", mode: 0o600)
            try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: out + "/keys/bench.pub")
            try ContributionBundle.sign(directory: out + "/bundle", key: key, origin: origin)
            let size = (try FileManager.default.attributesOfItem(atPath: out + "/bundle/" + BundleLayout.expertFile)[.size] as? Int) ?? 0
            print("anchor \(out)/anchor (\(config.hiddenSize)x\(config.numLayers), FFN \(config.intermediateSize)); expert \(size) bytes; key \(out)/keys/bench.key")
        }
    }
}

/// The append path (transaction, tree nodes, signed checkpoint, consistency check, inclusion proof)
/// on SQLite and on PostgreSQL in one run: one writer, then several writers on PostgreSQL contending
/// for its write lock as replicas would.
struct BenchAppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-append",
        abstract: "Time log appends on SQLite and on PostgreSQL (one and several writers) in one run.")
    @Option(help: "postgres://USER@HOST:PORT/DB of a server where a new database may be created (password: --database-password-file).")
    var database: String
    @Option var databasePasswordFile: String
    @Option var appends = 2000
    @Option(help: "Concurrent writers (replicas) in the contended run.") var writers = 3

    func run() async throws {
        try await reportingErrors {
            let key = try SigningKey.generate(name: "bench.tributary/log")
            let dir = NSTemporaryDirectory() + "tributary-bench-append-" + Hex.encode(secureRandomBytes(6))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let orgs = try (0..<appends).map { try SigningKey.generate(name: "org\($0)").verifierKey }
            let pg = DrillDatabase(url: database, passwordFile: databasePasswordFile, cluster: nil, script: "")
            func location(_ name: String) throws -> DatabaseLocation {
                .postgres(try PostgresLocation.parse(try pg.createDatabase(name), passwordFile: databasePasswordFile))
            }
            let tag = Hex.encode(secureRandomBytes(4))
            let runs: [(String, [DatabaseLocation])] = [
                ("SQLite, 1 writer", [.sqlite(path: dir + "/bench.sqlite")]),
                ("PostgreSQL, 1 writer", [try location("bench_one_\(tag)")]),
                ("PostgreSQL, \(writers) writers", Array(repeating: try location("bench_many_\(tag)"), count: writers)),
            ]
            var baseline = 0.0
            for (label, locations) in runs {
                let stores = try locations.map { try MetadataStore(database: $0, logKey: key, anchorDigest: "bench") }
                let t0 = ProgressReporter.now()
                let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                    for (w, store) in stores.enumerated() {
                        group.addTask {
                            var out = [Double]()
                            for i in stride(from: w, to: orgs.count, by: stores.count) {
                                let a = ProgressReporter.now()
                                _ = try await store.enrol(orgs[i], request: nil, nonce: nil)
                                out.append(ProgressReporter.now() - a)
                            }
                            return out
                        }
                    }
                    var all = [Double]()
                    for try await l in group { all += l }
                    return all.sorted()
                }
                let seconds = ProgressReporter.now() - t0
                let rate = Double(appends) / seconds
                if baseline == 0 { baseline = rate }
                func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
                print(String(format: "%-24@ %6d appends in %6.2f s: %7.0f appends/s (%.2fx SQLite), latency p50 %.2f ms, p99 %.2f ms",
                             label as NSString, appends, seconds, rate, rate / baseline, pct(0.5), pct(0.99)))
            }
        }
    }
}
