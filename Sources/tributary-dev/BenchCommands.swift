import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

struct BenchSgemmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-sgemm",
        abstract: "Measured cblas_sgemm peak: one thread, and every core each running its own (how training uses them).")
    @Option(help: "Matrix size n (n x n x n).") var size = 512
    @Option(help: "Threads.") var threads = 2
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        let n = size
        let one = SgemmPeak.measure(workers: 1, size: n), all = SgemmPeak.measure(workers: threads, size: n)
        if json {
            printJSON(.object([("core", .string(BLASThreads.coreName)), ("singleThread", .double(one)), ("allThreads", .double(all)), ("threads", .int(threads))]))
        } else {
            print(String(format: "sgemm %dx%dx%d (%@): 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s", n, n, n, BLASThreads.coreName, one, threads, all))
        }
    }
}

/// The measured cblas_sgemm peak: `workers` threads each running its own n×n×n products (how
/// training uses the cores), best of 5. The MFU baseline: bench-train measures it in its own process,
/// with the kernels and threads the training runs under (a baseline run elsewhere once ran on other
/// OpenBLAS kernels, and MFU read 115%).
enum SgemmPeak {
    static func measure(workers: Int, size n: Int = 512) -> Double {
        let a = FloatBuffer((0..<n * n).map { Float($0 % 7) * 0.1 }), b = FloatBuffer((0..<n * n).map { Float($0 % 5) * 0.1 })
        let c = (0..<workers).map { _ in FloatBuffer(count: n * n) }
        var best = 0.0
        for _ in 0..<5 {
            let reps = 20
            let t0 = ProgressReporter.now()
            parallelFor(workers) { w in
                for _ in 0..<reps { sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c[w].pointer, ldc: n) }
            }
            let dt = ProgressReporter.now() - t0
            best = max(best, 2 * Double(n * n * n) * Double(reps * workers) / dt / 1e9)
        }
        return best
    }
}

struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-train",
        abstract: "Training throughput on synthetic tokens: dense pretraining or FlexOlmo expert training.")
    /// What trains: every weight (anchor pretraining) or one FlexOlmo expert.
    enum Mode: String, ExpressibleByArgument, CaseIterable { case dense, expert }

    @Option(help: "dense (pretraining) or expert (FlexOlmo expert training).") var mode = Mode.dense
    @Option(help: "Model config (built-in models).") var config = "small"
    @Option(help: "An anchor directory (e.g. the imported SmolLM2) instead of a built-in config; expert mode only.") var anchor: String?
    @Option(help: "With --anchor: the layers that get an expert.") var expertLayers = LayerSet(layers: nil)
    @Option(help: "Expert mode: train a LoRA update of this rank (alpha 2r, every projection) instead of a full expert.") var loraRank: Int?
    @Option(help: "Sequence length (default: the model's window).") var seqLen: Int?
    @Option var steps = 30
    @Option var warmup = 3
    @Option var batch = 32
    @Option var threads = 2
    @Flag(help: "DP-SGD steps instead of batched ones: 400 documents of one window each, Poisson-sampled at --batch/400, each clipped on its own, CSPRNG noise.")
    var dpSgd = false
    @Flag(help: "Also measure where the time goes (shares of the workers' time per part of the pass).") var profile = false
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let loaded = try anchor.map { try ModelDirectory.load($0) }
            let dense = try loaded?.config ?? ModelConfig.preset(config)
            var rng = RNG(seed: 7)
            let stream = (0..<400_000).map { _ in Int32(rng.below(min(dense.vocabSize, 32_000))) }
            var o = TrainingOptions()
            o.steps = warmup + steps
            o.batchSize = batch
            o.seqLen = seqLen ?? dense.windowLength
            o.workers = threads
            o.checkpointEvery = 0
            let model: Model, trainMode: Trainability.Mode
            switch mode {
            case .dense:
                guard loaded == nil else { throw ValidationError("--anchor measures expert training; use --mode expert") }
                model = Model.initialised(config: dense, seed: 1)
                trainMode = .full
            case .expert:
                let base = loaded ?? Model.initialised(config: dense, seed: 1)
                let rows = [Float](repeating: 0.1, count: dense.numLayers * dense.hiddenSize)
                let layers = try expertLayers.resolve(count: dense.numLayers)
                let combined = try ExpertAssembly.combine(anchor: base, anchorRows: rows,
                                                          experts: [ExpertWeights(denseFFNOf: base, layers: layers)], rows: [rows], topK: 2)
                model = try loraRank.map { try combined.withLoRA(LoRAShape(rank: $0, alpha: Float(2 * $0)), seed: 1) } ?? combined
                trainMode = .expert(1, router: true)
            }
            let documents = 400, window = o.seqLen + 1
            let dp = try dpSgd ? (options: DPSGDOptions(samplingRate: min(1, Double(batch) / Double(documents)), noiseMultiplier: 1, clipNorm: 1),
                                  documents: DocumentTokens((0..<documents).map { Array(stream[$0 * window..<($0 + 1) * window]) })) : nil
            let trainer = try Trainer(model: model, mode: trainMode, options: o, batcher: try Batcher(stream: stream, batch: batch, seqLen: o.seqLen, seed: 1),
                                      dpSGD: dp, checkpointDirectory: nil, baseFingerprint: "bench", dataFingerprint: "synthetic")
            for s in 0..<warmup { _ = trainer.trainStep(s) }
            PassProfile.reset()
            PassProfile.enabled = profile
            var tokens = 0
            let t0 = ProgressReporter.now()
            for s in warmup..<(warmup + steps) { _ = trainer.trainStep(s); tokens += trainer.lastStepTokens }
            let dt = ProgressReporter.now() - t0
            PassProfile.enabled = false
            let shares = profile ? profileShares(seconds: dt, threads: threads) : []
            // DP-SGD's batches vary in size (Poisson): the tokens it ran, not batch x steps.
            let tokensPerSecond = Double(tokens) / dt
            let flops = FlopCount.trainingPerToken(config: model.config, trainable: trainer.trainable, seqLen: o.seqLen)
            // The MFU baseline in this process, after the timed steps: the same kernels, the same threads.
            let peak = SgemmPeak.measure(workers: threads)
            let gflops = flops * tokensPerSecond / 1e9
            // Where the memory goes, from the shapes (what `tributary train` checks before it starts).
            let memory = TrainingMemory.estimate(model: model.config, mode: trainMode, sourceParameters: loaded?.parameters.count ?? 0,
                                                 options: o, dataTokens: stream.count)
            if json {
                printJSON(.object([("mode", .string(mode.rawValue)), ("loraRank", loraRank.map { .int($0) } ?? .null), ("dpSGD", .bool(dpSgd)), ("tokensPerSecond", .double(tokensPerSecond)), ("flopsPerToken", .double(flops)),
                                   ("gflops", .double(gflops)), ("sgemmPeak", .double(peak)), ("mfu", .double(gflops / peak)), ("threads", .int(threads)),
                                   ("peakRSSMiB", .double(peakRSSMiB())), ("core", .string(BLASThreads.coreName)), ("profile", sharesJSON(shares)),
                                   ("memoryEstimate", .string(memory.description))]))
            } else {
                print(String(format: "%@%@ (%@): %.0f tokens/s, %.2f MFLOP/token, %.1f GFLOP/s (MFU %.1f%% of the %.0f GFLOP/s sgemm peak measured here on %@), peak RSS %.0f MiB",
                             mode.rawValue, dpSgd ? " DP-SGD" : "", anchor ?? config, tokensPerSecond, flops / 1e6, gflops, 100 * gflops / peak, peak, BLASThreads.coreName, peakRSSMiB()))
                print("  memory estimate from the shapes: \(memory)")
                printShares(shares)
            }
        }
    }
}

struct BenchRoutingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-routing",
        abstract: "Batched centroid routing on synthetic data (queries x experts x centroids).")
    @Option var queries = 1000
    @Option var experts = 1000
    @Option var centroids = 16
    @Option var dim = 128
    @Option var topK = 2
    @Option var repeats = 5
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        var rng = RNG(seed: 3)
        func unit(_ n: Int) -> [Float] {
            var v = [Float]()
            v.reserveCapacity(n * dim)
            for _ in 0..<n { v += VectorMath.normalized((0..<dim).map { _ in Float(rng.normal()) }) }
            return v
        }
        let index = RoutingIndex(space: SignatureSpace(layer: 0, center: [Float](repeating: 0, count: dim), projection: nil), experts: (0..<experts).map {
            .init(name: "e\($0)", centroids: unit(centroids), counts: [Float](repeating: 100, count: centroids))
        })
        let q = unit(queries)
        let router = CentroidRouter(index: index, temperature: 0.1, topK: topK)
        var best = Double.infinity
        var checksum = 0
        for _ in 0..<repeats {
            let t0 = ProgressReporter.now()
            let r = router.route(q, count: queries)
            best = min(best, ProgressReporter.now() - t0)
            checksum = r.reduce(0) { $0 + ($1.first?.expert ?? 0) }
        }
        if json {
            printJSON(.object([("seconds", .double(best)), ("queriesPerSecond", .double(Double(queries) / best)), ("checksum", .int(checksum))]))
        } else {
            print(String(format: "routing %d queries x %d experts x %d centroids (C=%d): %.1f ms, %.0f queries/s", queries, experts, centroids, dim, best * 1000, Double(queries) / best))
        }
    }
}

struct BenchEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-eval",
        abstract: "Forward-only evaluation throughput (bits per byte's pass) on synthetic tokens, with a time profile.")
    @Option(help: "Model directory.") var model: String
    @Option var batch = 4
    @Option var seqLen = 256
    @Option var repeats = 3
    @Option var threads = 2
    @Flag(help: "Also measure where the time goes (one more pass, timed per part).") var profile = false
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            var rng = RNG(seed: 7)
            let n = batch * seqLen
            let workers = (0..<threads).map { _ in Activations(config: m.config, batch: batch, seqLen: seqLen, training: false) }
            for a in workers {
                let toks = (0..<n).map { _ in Int32(rng.below(min(m.config.vocabSize, 32_000))) }
                toks.withUnsafeBufferPointer { t in toks.withUnsafeBufferPointer { a.load(tokens: t, targets: $0) } }
            }
            parallelFor(threads) { w in _ = m.forward(workers[w]) }  // warm-up
            var best = Double.infinity
            for _ in 0..<repeats {
                let t0 = ProgressReporter.now()
                parallelFor(threads) { w in _ = m.forward(workers[w]) }
                best = min(best, ProgressReporter.now() - t0)
            }
            let tokensPerSecond = Double(threads * n) / best
            var shares = [(String, Double)]()
            if profile {
                PassProfile.reset()
                PassProfile.enabled = true
                let t0 = ProgressReporter.now()
                parallelFor(threads) { w in _ = m.forward(workers[w]) }
                PassProfile.enabled = false
                shares = profileShares(seconds: ProgressReporter.now() - t0, threads: threads)
            }
            if json {
                printJSON(.object([("tokensPerSecond", .double(tokensPerSecond)), ("batch", .int(batch)), ("seqLen", .int(seqLen)),
                                   ("threads", .int(threads)), ("peakRSSMiB", .double(peakRSSMiB())), ("profile", sharesJSON(shares))]))
            } else {
                print(String(format: "forward: %.0f tokens/s (%d threads × batch %d × %d tokens), peak RSS %.0f MiB",
                             tokensPerSecond, threads, batch, seqLen, peakRSSMiB()))
                printShares(shares)
            }
        }
    }
}

/// Each part's share of the workers' time (`threads` × wall seconds), and the rest ("other": the
/// embedding lookup, the optimizer, gradient reduction, waiting for the slowest worker).
func profileShares(seconds: Double, threads: Int) -> [(String, Double)] {
    let total = seconds * Double(threads)
    let parts = PassProfile.snapshot().map { ($0.part.name, $0.seconds / total) }
    return parts + [("other", max(0, 1 - parts.reduce(0) { $0 + $1.1 }))]
}

func sharesJSON(_ shares: [(String, Double)]) -> JSONValue { .object(shares.map { ($0.0, .double($0.1)) }) }

func printShares(_ shares: [(String, Double)]) {
    for (name, share) in shares { print(String(format: "  %5.1f%%  %@", 100 * share, name)) }
}

struct BenchTokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-tokenize",
        abstract: "Encoding throughput of a model's tokenizer on a text file, one thread (best of --repeats).")
    @Option(help: "Model directory (its tokenizer.json).") var model: String
    @Option(help: "Text file.") var file: String
    @Option var repeats = 5
    @Flag var json = false

    func run() async throws {
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let text = String(decoding: data, as: UTF8.self)
            var best = Double.infinity, tokens = 0
            for _ in 0..<max(1, repeats) {
                let t0 = ProgressReporter.now()
                tokens = m.tokenizer.encode(Array(text.utf8)).count
                best = min(best, ProgressReporter.now() - t0)
            }
            let bytes = text.utf8.count
            if json {
                printJSON(.object([("bytes", .int(bytes)), ("tokens", .int(tokens)), ("seconds", .double(best)),
                                   ("bytesPerSecond", .double(Double(bytes) / best))]))
            } else {
                print(String(format: "%d bytes → %d tokens in %.3f s: %.2f MB/s", bytes, tokens, best, Double(bytes) / best / 1e6))
            }
        }
    }
}
