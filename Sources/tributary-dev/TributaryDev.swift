import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting
import TributaryContribution
import TributaryDemo
import TributaryDevTools
import TributaryHarness

@main
struct TributaryDev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-dev",
        abstract: "Benchmarks, drills and research evaluations for Tributary's own developers (not part of the product).",
        subcommands: [TestVectorsCommand.self, BLASInfoCommand.self, LogitsCommand.self, GreedyCommand.self, PrepareCorporaCommand.self, RoutingEvalCommand.self,
                      CombineEvalCommand.self, HeldOutWindowsCommand.self, BenchSgemmCommand.self, BenchTrainCommand.self, BenchEvalCommand.self, BenchTokenizeCommand.self, BenchRoutingCommand.self,
                      BenchLogCommand.self, BenchAppendCommand.self, BenchTilesCommand.self, BenchWitnessCommand.self, BenchExpertsCommand.self, BenchServerExpertsCommand.self, BenchDecodeCommand.self, BenchRouteCommand.self, BenchFixturesCommand.self, BenchSignatureCommand.self, RoutingBoundsCommand.self, FaultDrillCommand.self, ReplicaDrillCommand.self, LoadTestCommand.self, SmallDeploymentCommand.self, PlantCanariesCommand.self])
}

struct TestVectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-vectors", abstract: "Regenerate protocol/test-vectors from the fixed seeds.")

    @Option(help: "Output directory.") var out = "protocol/test-vectors"

    func run() async throws {
        try await reportingErrors {
            try TestVectors.write(to: out)
            for f in TestVectors.files { print("\(out)/\(f)") }
        }
    }
}

struct BLASInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas-info", abstract: "Show which OpenBLAS kernels this process runs.")

    func run() async throws {
        prepareCompute()
        print("core: \(BLASThreads.coreName)")
        print("config: \(BLASThreads.config)")
        print("threads: \(BLASThreads.current)")
        print("decision: \(BLASCoreType.decision())")
        print("OPENBLAS_CORETYPE: \(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
    }
}

struct LogitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Print a model's logits for token ids as JSON (for interop checks).")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Comma-separated token ids.") var tokens: String
    @Option(help: "Write the logits [tokens, vocabulary] as F32 tensor `logits` of a safetensors file instead of printing JSON.") var out: String?

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            let ids = try tokens.split(separator: ",").map { s -> Int32 in
                guard let v = Int32(s), v >= 0, Int(v) < m.config.vocabSize else { throw ValidationError("bad token id \(s)") }
                return v
            }
            guard !ids.isEmpty, ids.count <= m.config.contextLength else {
                throw ValidationError("give 1 to \(m.config.contextLength) token ids (the model's context)")
            }
            let logits = ModelInference.logits(model: m, tokens: ids)
            if let out {
                var w = SafetensorsWriter(metadata: [:])
                w.add("logits", shape: [ids.count, m.config.vocabSize], values: logits.flatMap { $0 })
                try w.write(to: out)
            } else {
                printJSON(.object([("logits", .array(logits.map { .array($0.map { .double(Double($0)) }) }))]))
            }
        }
    }
}

struct PrepareCorporaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-corpora", abstract: "Write the demo corpora under WORKDIR/corpora.")
    @Option(help: "Work directory.") var workdir = ".demo"
    @Option(help: "Documents per private domain.") var documents = 700

    func run() async throws {
        try await reportingErrors {
            _ = try DemoCorpora(documentsPerDomain: documents).prepare(workdir: workdir) { print($0) }
        }
    }
}

struct RoutingEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing-eval",
        abstract: "Routing accuracy of DP signatures of the demo domains (train split) on their held-out split.")
    @Option(help: "Anchor directory.") var anchor: String
    @Option(help: "Work directory holding corpora/.") var workdir = ".demo"
    @OptionGroup var privacy: PrivacyArguments
    @Option(help: "Seed of the DP noise (this is an experiment; real releases use the CSPRNG).") var noiseSeed: UInt64 = 1

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            let c = a.model.config
            let pub = try a.publicCentroids()
            var experts: [RoutingIndex.Expert] = [.init(name: "anchor", centroids: pub.centroids, counts: pub.counts)]
            var held = [(name: String, corpus: Corpus)]()
            let o = privacy.options(seed: 1)
            let plan = try SignatureBuilder.plan(o)
            for d in DemoCorpora.privateDomains {
                let (train, test) = try Corpus.load(paths: [DemoCorpora.directory(workdir, d.name)]).split(heldOutFraction: 0.1)
                let stats = Evaluator.documentStatistics(model: a.model, corpus: train)
                var noise = SeededNoise(seed: noiseSeed)
                let s = try SignatureBuilder.build(stats: SignatureStatistics(stats, space: a.space, layers: c.numLayers, hidden: c.hiddenSize), options: o, plan: plan, noise: &noise)
                experts.append(.init(name: d.name, centroids: s.centroids, counts: s.counts))
                held.append((d.name, test))
                print("\(d.name): \(train.documents.count) training documents, \(s.k) centroids, counts \(s.counts.map { Int($0) })")
            }
            if let plan { print(String(format: "ε = %.3g (exact %.3g), centroid-sum noise multiplier %.2f", plan.epsilon, plan.exactEpsilon, plan.noiseMultiplier(.centroidSums) ?? 0)) }
            let index = RoutingIndex(space: a.space, experts: experts)
            print("routing accuracy: " + RoutingAccuracy.measure(anchor: a.model, index: index, heldOut: held).summary)
        }
    }
}
