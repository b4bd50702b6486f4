import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryCore
import TributaryDevTools
import TributaryModel
import TributaryRouting

/// How the combined model and its routing grow with the number of contributed experts, in process,
/// on a small random anchor with synthetic experts (the anchor's FFN plus noise) and synthetic
/// signatures (random unit centroids): assembling the release's weights, centroid routing of one
/// query and of a batch, the signature shortlist, and posterior routing over the shortlist against
/// posterior routing over every expert.
struct BenchExpertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-experts",
        abstract: "Combined-model assembly, routing and posterior routing with 64, 256, 1,024 … synthetic experts.")
    @Option(parsing: .upToNextOption, help: "Numbers of contributed experts.") var experts: [Int] = [64, 256, 1024]
    @Option(help: "Anchor preset: tiny, small, medium.") var config = "small"
    @Option(help: "Centroids per expert signature.") var centroids = 4
    @Option(help: "Held-out documents for the posterior figures.") var documents = 8
    @Option(help: "Bytes per held-out document.") var bytes = 200
    @Option(help: "Skip posterior routing over every expert above this many experts (it costs one pass per expert).") var fullPosteriorUpTo = 1024

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let anchor = Model.initialised(config: try ModelConfig.preset(config), seed: 1)
            let C = anchor.config.hiddenSize
            var rng = RNG(seed: 7)
            let corpus = Corpus(documents: (0..<documents).map { d in
                .init(source: "doc\(d)", bytes: (0..<bytes).map { _ in UInt8(97 + rng.next() % 26) })
            })
            let base = ExpertWeights(denseFFNOf: anchor)
            print("anchor \(config) (d \(C), \(anchor.config.numLayers) layers); \(documents) held-out documents of \(bytes) bytes; top-2")
            print("experts | assemble s | weights MB | peak RSS MiB | route 1 query ms | route 1000 queries ms | shortlist s | posterior, shortlist of 2: s | posterior, all experts: s")
            for n in experts {
                let noisy = (0..<n).map { e -> ExpertWeights in
                    var w = base, r = RNG(seed: UInt64(100 + e))
                    for l in w.w1.indices { for i in w.w1[l].indices { w.w1[l][i] += Float(Int(r.next() % 2001) - 1000) * 1e-5 } }
                    return w
                }
                let rows = (0...n).map { e -> [Float] in
                    var r = RNG(seed: UInt64(5000 + e))
                    return (0..<(anchor.config.numLayers * C)).map { _ in Float(Int(r.next() % 2001) - 1000) / 1000 }
                }
                var t = ProgressReporter.now()
                let combined = try ExpertAssembly.assemble(anchor: anchor, experts: [base] + noisy, routerRows: rows, topK: 2)
                let assemble = ProgressReporter.now() - t
                let index = RoutingIndex(space: SignatureSpace(layer: 0, center: [Float](repeating: 0, count: C), projection: nil), experts: (0...n).map { e in
                    var r = RNG(seed: UInt64(9000 + e))
                    return .init(name: e == 0 ? "anchor" : "expert\(e)", centroids: randomUnitVectors(centroids, dimension: C, rng: &r),
                                 counts: [Float](repeating: 100, count: centroids))
                })
                let router = CentroidRouter(index: index, temperature: 0.1, topK: 2)
                let queries = (0..<1000).flatMap { q -> [Float] in
                    var r = RNG(seed: UInt64(20_000 + q))
                    return randomUnitVectors(1, dimension: C, rng: &r)
                }
                t = ProgressReporter.now()
                for q in 0..<100 { _ = router.route(Array(queries[(q * C)..<((q + 1) * C)]), count: 1, workers: 1) }
                let single = (ProgressReporter.now() - t) / 100
                t = ProgressReporter.now()
                _ = router.route(queries, count: 1000, workers: 2)
                let batch = ProgressReporter.now() - t
                t = ProgressReporter.now()
                let shortlist = SignatureRouting(index: index, experts: 2).expertSets(anchor: anchor, corpus: corpus)
                let shortlisting = ProgressReporter.now() - t
                let routing = PosteriorRouting(experts: n + 1)
                t = ProgressReporter.now()
                _ = routing.tokenScores(model: combined, corpus: corpus, shortlist: shortlist)
                let shortlisted = ProgressReporter.now() - t
                var full = "-"
                if n <= fullPosteriorUpTo {
                    t = ProgressReporter.now()
                    _ = routing.tokenScores(model: combined, corpus: corpus)
                    full = String(format: "%.2f", ProgressReporter.now() - t)
                }
                print(String(format: "%7d | %10.2f | %10.0f | %11.0f | %16.3f | %21.1f | %11.2f | %28.2f | %@", n, assemble,
                             Double(combined.parameters.count) * 4 / 1e6, peakRSSMiB(), single * 1000, batch * 1000, shortlisting, shortlisted, full))
            }
        }
    }
}

/// The same growth through a real server: uploads, release build, `/v1/route` and a whole audit with
/// 64, 256, 1,024 … contributions (`ServerExpertScale`).
struct BenchServerExpertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-server-experts",
        abstract: "Uploads, release build, /v1/route and audit through `tributary serve` with 64, 256, 1,024 … contributions.")
    @Option(parsing: .upToNextOption, help: "Numbers of contributions.") var experts: [Int] = [64, 256, 1024]
    @Option(help: "Texts in one batched /v1/route request.") var batch = 256
    @Option(help: "Single-text /v1/route requests timed (a tenth as many batched ones).") var requests = 200
    @Option(help: "Work directory (kept); default: a temporary one, removed afterwards.") var workdir: String?

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let (dir, remove) = try drillDirectory(workdir, label: "bench-server-experts")
            defer { if remove { try? FileManager.default.removeItem(atPath: dir) } }
            let bench = ServerExpertScale(binary: try productExecutable(), work: dir, batch: batch, requests: requests)
            let figures = try await bench.run(experts: experts) { print($0) }
            print("contributions | uploads (4 at a time) s | uploads/s | release build s | release MB | route 1 text p50/p99 ms | route \(batch) texts p50/p99 ms | audit s | server peak RSS MiB")
            for f in figures {
                print(String(format: "%d | %.1f | %.1f | %.2f | %.1f | %.2f / %.2f | %.1f / %.1f | %.1f | %d", f.experts, f.uploadSeconds, Double(f.experts) / f.uploadSeconds,
                             f.releaseSeconds, Double(f.releaseBytes) / 1e6, f.routeOne.p50, f.routeOne.p99, f.routeBatch.p50, f.routeBatch.p99, f.auditSeconds, f.peakRSSMiB))
            }
        }
    }
}
