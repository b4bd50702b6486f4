import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel

/// Call at the top of every command that does numeric work: gets OpenBLAS's fast kernels even where
/// its CPU detection fails (re-executes the process once with OPENBLAS_CORETYPE set).
func prepareCompute() {
    BLASCoreType.reexecIfNeeded()
}

struct CorpusOptions: ParsableArguments {
    @Option(name: .customLong("extensions"), help: "Only files ending in these (comma-separated, e.g. .h,.c).")
    var extensions: String?
    @Option(help: "Read at most this many bytes in total.") var maxBytes: Int?
    @Option(help: "Cut each document (file) to this many bytes.") var maxDocumentBytes = 64 * 1024
    @Option(help: "Fraction of documents held out by content hash (0 to train on everything).") var heldOut = 0.1

    func load(_ paths: [String]) throws -> Corpus {
        var o = Corpus.LoadOptions()
        o.extensions = extensions?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } ?? []
        if let maxBytes { o.maxTotalBytes = maxBytes }
        o.maxDocumentBytes = maxDocumentBytes
        return try Corpus.load(paths: paths, options: o)
    }

    /// Loads and splits; returns (train, held-out or nil).
    func loadSplit(_ paths: [String]) throws -> (Corpus, Corpus?) {
        let all = try load(paths)
        guard heldOut > 0 else { return (all, nil) }
        let (train, held) = all.split(heldOutFraction: heldOut)
        guard !train.documents.isEmpty else {
            throw TributaryError("corpus.empty", "every document fell into the held-out split; lower --held-out")
        }
        return (train, held.documents.isEmpty ? nil : held)
    }
}

struct TrainingArguments: ParsableArguments {
    @Option(help: "Optimisation steps.") var steps: Int?
    @Option(help: "Sequences per step.") var batch = 32
    @Option(help: "Tokens per sequence (default: the model's context).") var seqLen: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "Warmup steps.") var warmup: Int?
    @Option(help: "Random seed: same seed, same data, same threads → identical weights.") var seed: UInt64 = 1
    @Option(help: "Worker threads (data-parallel shards of the batch).") var threads = 2
    @Option(help: "Checkpoint every N steps (0: never).") var checkpointEvery = 100
    @Flag(help: "Discard existing checkpoints instead of resuming from them.") var restart = false
    @Flag(help: "No progress output.") var quiet = false

    func options(contextLength: Int, defaultSteps: Int, defaultLR: Float) -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps ?? defaultSteps
        o.batchSize = batch
        o.seqLen = seqLen ?? contextLength
        o.learningRate = lr ?? defaultLR
        o.warmupSteps = warmup ?? min(50, max(1, o.steps / 10))
        o.seed = seed
        o.workers = threads
        o.checkpointEvery = checkpointEvery
        return o
    }
}

func formatBPB(_ e: Evaluation) -> String { String(format: "%.4f bits/byte over %d bytes", e.bitsPerByte, e.bytes) }
