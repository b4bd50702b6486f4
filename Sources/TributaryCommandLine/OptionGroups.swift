import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// Call at the top of every command that does numeric work: gets OpenBLAS's fast kernels even where
/// its CPU detection fails (re-executes the process once with OPENBLAS_CORETYPE set).
public func prepareCompute() {
    BLASCoreType.reexecIfNeeded()
}

/// Which documents of a corpus a command uses, split by content hash (`Corpus.split`).
public enum CorpusSplit: String, CaseIterable, ExpressibleByArgument, Sendable {
    case all, train
    case heldOut = "held-out"
}

extension RouterRowSource: ExpressibleByArgument {}

public struct CorpusOptions: ParsableArguments {
    @Option(name: .customLong("extensions"), help: "Only files ending in these (comma-separated, e.g. .h,.c).")
    public var extensions: String?
    @Option(help: "Read at most this many bytes in total.") public var maxBytes: Int?
    @Option(help: "Cut each document (file) to this many bytes.") public var maxDocumentBytes = 64 * 1024
    @Option(help: "Fraction of documents held out by content hash (0 to train on everything).") public var heldOut = 0.1

    public init() {}

    public var loadOptions: Corpus.LoadOptions {
        var o = Corpus.LoadOptions()
        o.extensions = extensions?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } ?? []
        if let maxBytes { o.maxTotalBytes = maxBytes }
        o.maxDocumentBytes = maxDocumentBytes
        return o
    }

    public func load(_ paths: [String]) throws -> Corpus {
        try Corpus.load(paths: paths, options: loadOptions)
    }

    /// The training split of `paths`, read a document at a time (`DocumentSource`), and the first
    /// held-out documents, whole, until they hold `heldOutBytes` (all of them are counted).
    public func streamSplit(_ paths: [String], heldOutBytes: Int) throws -> (train: DocumentSource, heldOut: Corpus?, heldOutCount: Int) {
        let options = loadOptions, fraction = heldOut
        var held = [Corpus.Document](), bytes = 0, count = 0
        if fraction > 0 {
            try Corpus.forEachDocument(paths: paths, options: options) { d in
                guard Corpus.isHeldOut(d, fraction: fraction) else { return }
                count += 1
                if bytes < heldOutBytes { held.append(d); bytes += d.bytes.count }
            }
        }
        return (DocumentSource(paths: paths, options: options) { !Corpus.isHeldOut($0, fraction: fraction) }, held.isEmpty ? nil : Corpus(documents: held), count)
    }

    /// Loads and splits; returns (train, held-out or nil).
    public func loadSplit(_ paths: [String]) throws -> (Corpus, Corpus?) {
        let all = try load(paths)
        guard heldOut > 0 else { return (all, nil) }
        let (train, held) = all.split(heldOutFraction: heldOut)
        guard !train.documents.isEmpty else {
            throw TributaryError("corpus.empty", "every document fell into the held-out split; lower --held-out")
        }
        return (train, held.documents.isEmpty ? nil : held)
    }

    /// The documents of `split`.
    public func load(_ paths: [String], split: CorpusSplit) throws -> Corpus {
        let all = try load(paths)
        switch split {
        case .all: return all
        case .heldOut: return all.split(heldOutFraction: heldOut).heldOut
        case .train: return all.split(heldOutFraction: heldOut).train
        }
    }
}

public struct TrainingArguments: ParsableArguments {
    @Option(help: "Optimisation steps.") public var steps: Int?
    @Option(help: "Sequences per step (default: 32, fewer when they would not fit --memory-budget).") public var batch: Int?
    @Option(help: "Tokens per sequence (default: the model's window, shorter when it would not fit --memory-budget).") public var seqLen: Int?
    @Option(help: "Bytes of memory training may use (default: three quarters of this machine's); the run is refused before it starts when it would need more.")
    public var memoryBudget: Int?
    @Option(help: "Peak learning rate.") public var lr: Float?
    @Option(help: "Peak learning rate of the router rows (default: --lr); e.g. a LoRA expert's factors at 1e-2 with its router row at a full expert's 2e-3.")
    public var routerLr: Float?
    @Option(help: "Warmup steps.") public var warmup: Int?
    @Option(help: "Random seed: same seed, same data, same threads → identical weights.") public var seed: UInt64 = 1
    @Option(help: "Worker threads (data-parallel shards of the batch).") public var threads = 2
    @Option(help: "Checkpoint every N steps (0: never).") public var checkpointEvery = 100
    @Flag(help: "Discard existing checkpoints instead of resuming from them.") public var restart = false
    @Flag(help: "No progress output.") public var quiet = false

    public init() {}

    public func options(contextLength: Int, defaultSteps: Int, defaultLR: Float) -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps ?? defaultSteps
        o.batchSize = batch ?? 32
        o.seqLen = seqLen ?? contextLength
        o.learningRate = lr ?? defaultLR
        o.routerLearningRate = routerLr
        o.warmupSteps = warmup ?? min(50, max(1, o.steps / 10))
        o.seed = seed
        o.workers = threads
        o.checkpointEvery = checkpointEvery
        return o
    }
}

extension TrainingArguments {
    /// The options, sized to the memory budget: what was not given on the command line shrinks —
    /// the batch first (down to one sequence per worker), then the sequence length (down to 128) —
    /// until `estimate` fits. A run that still does not fit (or whose given sizes do not) is refused
    /// before anything is allocated, with what it needs and options that fit.
    public func sized(_ base: TrainingOptions, budget: Int? = nil, estimate: (TrainingOptions) -> TrainingMemory,
                      log: (String) -> Void) throws -> TrainingOptions {
        let budget = memoryBudget ?? budget ?? TrainingMemory.defaultBudget
        var o = base
        while estimate(o).total > budget {
            if batch == nil, o.batchSize > o.workers {
                o.batchSize = max(o.workers, (o.batchSize / 2) / o.workers * o.workers)
            } else if seqLen == nil, o.seqLen > 128 {
                o.seqLen = max(128, o.seqLen / 2)
            } else {
                break
            }
        }
        let need = estimate(o)
        guard need.total <= budget else {
            var fits: TrainingOptions?
            search: for s in [o.seqLen, 512, 256, 128] where s <= o.seqLen {
                for b in stride(from: o.batchSize, through: o.workers, by: -o.workers) {
                    var t = o
                    (t.batchSize, t.seqLen) = (b, s)
                    if estimate(t).total <= budget { fits = t; break search }
                }
            }
            let hint = fits.map { "--batch \($0.batchSize) --seq-len \($0.seqLen) would need \(TrainingMemory.gib(estimate($0).total))" }
                ?? "no batch and sequence length fit; raise --memory-budget or train on a larger machine"
            throw TributaryError("train.memory", "batch \(o.batchSize) × \(o.seqLen) tokens needs about \(need) but the budget is \(TrainingMemory.gib(budget)) (--memory-budget; this machine has \(TrainingMemory.gib(TrainingMemory.physical))): \(hint)")
        }
        if o != base {
            log("sized to the memory budget: batch \(o.batchSize) × \(o.seqLen) tokens (--batch, --seq-len and --memory-budget set them)")
        }
        log("memory: about \(need) of the \(TrainingMemory.gib(budget)) budget")
        return o
    }
}

/// How the anchor's signature space is fitted on its public text (`SignatureSpace.Recipe`).
public struct SignatureSpaceArguments: ParsableArguments {
    @Option(help: "Anchor layer whose mean state the signature space measures (default: 13% of the way up; the layer count: the final state).")
    public var signatureLayer: Int?
    @Option(help: "Dimensions of the signature space.") public var signatureDimension = SignatureSpace.Recipe().dimension
    @Option(help: "Top public directions dropped before those kept.") public var signatureDrop = SignatureSpace.Recipe().drop
    @Flag(inversion: .prefixedNo, help: "Whiten the kept directions (scale each by 1/√its public variance).")
    public var signatureWhiten = SignatureSpace.Recipe().whiten
    @Option(parsing: .upToNextOption, help: "Public text the signature space is fitted on, files or directories (default: the public text); more and more varied text than the router rows need, read only up to the signature layer.")
    public var signatureText: [String] = []
    @Option(help: "Read at most this many bytes of each --signature-text path.") public var signatureMaxBytes: Int?

    public init() {}

    /// The --signature-text corpus (each path cut to --signature-max-bytes), or nil.
    public func spaceText(maxDocumentBytes: Int) throws -> Corpus? {
        guard !signatureText.isEmpty else { return nil }
        var o = Corpus.LoadOptions()
        if let signatureMaxBytes { o.maxTotalBytes = signatureMaxBytes }
        o.maxDocumentBytes = maxDocumentBytes
        let parts = try signatureText.map { try Corpus.load(paths: [$0], options: o) }
        return Corpus(documents: parts.flatMap(\.documents))
    }

    public var recipe: SignatureSpace.Recipe {
        var r = SignatureSpace.Recipe()
        r.layer = signatureLayer
        r.dimension = signatureDimension
        r.drop = signatureDrop
        r.whiten = signatureWhiten
        return r
    }
}

public struct PrivacyArguments: ParsableArguments {
    @Option(help: "Total differential-privacy epsilon: of the routing signature, or with --dp-sgd of the whole contribution (expert, router rows and signature).")
    public var epsilon: Double = 1
    @Option(help: "Total differential-privacy delta.") public var delta: Double = 1e-6
    @Flag(help: "No differential privacy (experiments only; written into the statement, servers may refuse it).") public var noDp = false
    @Option(help: "Centroids to fit (clusters below --min-cluster-size are dropped); default: as many as the documents afford at this ε (one DP mean below a few hundred).")
    public var clusters: Int?
    @Option(help: "DP-Lloyd iterations (with more than one cluster).") public var iterations = 2
    @Option(help: "Smallest (noisy) cluster size that is published.") public var minClusterSize = SignatureOptions().minClusterSize
    @Option(help: "Stop unless the released signature routes at least this share of your own documents to your expert (0: publish whatever it routes).")
    public var minSelfRouting = SignatureOptions().minSelfRouting
    @Option(help: "Router rows to publish: trained (FlexOlmo; not covered by DP) or dp-mean (covered; kept frozen in training).")
    public var routerRows = RouterRowSource.trained
    @Flag(help: "Train the expert with DP-SGD (Poisson-sampled documents, per-document clipping, Gaussian noise): --epsilon then covers everything uploaded.")
    public var dpSgd = false
    @Option(help: "DP-SGD: the L2 norm each document's gradient is clipped to.") public var dpSgdClip = DPSGDRequest().clipNorm
    @Option(help: "DP-SGD: the share of --epsilon the routing signature gets; training gets the rest.")
    public var signatureEpsilonShare = DPSGDRequest().signatureShare

    public init() {}

    /// DP-SGD as asked; nil without --dp-sgd (its options are then refused).
    public func dpSGD() throws -> DPSGDRequest? {
        guard dpSgd else {
            guard dpSgdClip == DPSGDRequest().clipNorm, signatureEpsilonShare == DPSGDRequest().signatureShare else {
                throw TributaryError("train.invalid_options", "--dp-sgd-clip and --signature-epsilon-share need --dp-sgd")
            }
            return nil
        }
        var r = DPSGDRequest()
        r.clipNorm = dpSgdClip
        r.signatureShare = signatureEpsilonShare
        try r.validate()
        return r
    }

    public func options(seed: UInt64) -> SignatureOptions {
        var o = SignatureOptions()
        o.epsilon = epsilon
        o.delta = delta
        o.disabled = noDp
        o.clusters = clusters
        o.iterations = iterations
        o.minClusterSize = minClusterSize
        o.minSelfRouting = minSelfRouting
        o.routerRowSource = routerRows
        o.seed = seed
        return o
    }
}

public func formatBPB(_ e: Evaluation) -> String { String(format: "%.4f bits/byte over %d bytes", e.bitsPerByte, e.bytes) }

/// Peak resident set size of this process, in MiB: `VmHWM` of /proc/self/status, the high-water mark
/// of this program's own memory. (`getrusage`'s ru_maxrss also counts the image a forked parent had
/// before the exec: a tiny run started by a 2.5 GB test runner read 2.5 GB.)
public func peakRSSMiB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") {
        return kb / 1024
    }
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
}

extension RoutingMethod: ExpressibleByArgument {}
