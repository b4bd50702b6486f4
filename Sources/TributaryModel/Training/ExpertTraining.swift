import Foundation
import TributaryCore

/// FlexOlmo expert training against a frozen anchor: the FFN of every expert layer becomes a
/// 2-expert MoE (expert 0 = the anchor FFN, frozen; expert 1 = a copy, trained), router row 0 = the
/// anchor's (frozen), router row 1 = the owner's initial rows, trained only when `trainRouter` is
/// set. Nothing else trains, so the backward pass stops below the lowest expert layer; weight decay is 0.
public enum ExpertTraining {
    public struct Result: Sendable {
        /// The trained 2-expert model.
        public let model: Model
        public let training: TrainingResult
        /// The owner's router rows before training, [L * C] (every layer of the anchor).
        public let initialRouterRows: [Float]
        /// The trained expert as full weights (a LoRA expert materialised by sgemm: for the owner's own
        /// evaluation; a release materialises `loraFactors` exactly).
        public var expert: ExpertWeights { ExpertWeights(expert: 1, of: model) }
        /// A LoRA expert's factors; nil for a full expert.
        public var loraFactors: LoRAFactors? { model.config.lora.map { _ in LoRAFactors(of: model) } }
        /// The owner's router rows after training, [L * C]: trained in the expert layers, the initial
        /// ones elsewhere (a layer without experts has no router).
        public var trainedRouterRows: [Float] {
            RouterRows.replacing(initialRouterRows, layers: model.config.moeLayers, with: ExpertAssembly.routerRows(of: model)[1],
                                 hidden: model.config.hiddenSize)
        }
    }

    /// The frozen side: the dense anchor, its router rows [L * C], and a string that identifies it
    /// (its digest), so a checkpoint resumes only against the same anchor.
    public struct Anchor: Sendable {
        public let model: Model
        public let routerRows: [Float]
        public let identity: String
        public init(model: Model, routerRows: [Float], identity: String) {
            self.model = model
            self.routerRows = routerRows
            self.identity = identity
        }
    }

    /// `routerRows`: the owner's initial router rows [L * C].
    /// `publicText`: public text (the anchor's kind) that every `publicEvery`-th step trains on, with
    /// the same parameters as the other steps (replay). Measured on the demo (benchmarks/README.md):
    /// without it the expert, mixed into every token by a 2-expert router, made public text 25% worse
    /// than the anchor; with replay every 2nd step, 2.6%.
    /// `layers`: the anchor layers that get an expert (every layer when nil).
    /// `lora`: train a low-rank update of the anchor's FFN (its `expert` must be 1) instead of a full expert.
    /// `dpSGD`: the private steps are DP-SGD steps over `data`'s documents (`DPSGDOptions`).
    public static func train(anchor: Anchor, data: Corpus, routerRows: [Float], layers: [Int]? = nil, trainRouter: Bool = true, lora: LoRAShape? = nil,
                             publicText: Corpus? = nil, publicEvery: Int = 2, dpSGD: DPSGDOptions? = nil,
                             options: TrainingOptions, checkpointDirectory: String?, restart: Bool,
                             progress: ProgressReporter?) throws -> Result {
        let t = anchor.model.tokenizer
        // DP-SGD needs the documents apart; their concatenation is the stream (`Corpus.tokenStream`), tokenized once.
        let documents = try dpSGD.map { _ in try DocumentTokens(data.documents.map { t.document($0.bytes) }) }
        return try train(anchor: anchor, tokens: InMemoryTokens(documents?.stream ?? data.tokenStream(t)), dataFingerprint: data.fingerprint,
                         routerRows: routerRows, layers: layers, trainRouter: trainRouter, lora: lora,
                         publicTokens: publicText.map { InMemoryTokens($0.tokenStream(t)) }, publicEvery: publicEvery,
                         dpSGD: dpSGD.flatMap { o in documents.map { (options: o, documents: $0) } },
                         options: options, checkpointDirectory: checkpointDirectory, restart: restart, progress: progress)
    }

    /// The same from token streams (`TokenStore`s on disk for a corpus of any size); `dataFingerprint`
    /// identifies the documents (`Corpus.fingerprint`) for checkpoints.
    public static func train(anchor: Anchor, tokens: any TokenSource, dataFingerprint: String, routerRows: [Float], layers: [Int]? = nil,
                             trainRouter: Bool = true, lora: LoRAShape? = nil, publicTokens: (any TokenSource)? = nil, publicEvery: Int = 2,
                             dpSGD: (options: DPSGDOptions, documents: DocumentTokens)? = nil, options: TrainingOptions, checkpointDirectory: String?, restart: Bool,
                             progress: ProgressReporter?) throws -> Result {
        let a = anchor.model, c = a.config
        guard !c.isMoE else { throw TributaryError("model.not_dense", "the anchor must be a dense model") }
        for (rows, whose) in [(routerRows, "the owner's"), (anchor.routerRows, "the anchor's")] where rows.count != c.numLayers * c.hiddenSize {
            throw TributaryError("model.shape_mismatch", "\(whose) router rows have \(rows.count) values, the anchor needs \(c.numLayers * c.hiddenSize)")
        }
        let layers = layers ?? Array(0..<c.numLayers)
        guard !layers.isEmpty, layers == layers.sorted(), Set(layers).count == layers.count, layers.allSatisfy({ (0..<c.numLayers).contains($0) }) else {
            throw TributaryError("train.invalid_options", "expert layers \(layers) must be distinct, ascending and within 0..<\(c.numLayers)")
        }
        let anchorFFN = ExpertWeights(denseFFNOf: a, layers: layers)
        let C = c.hiddenSize
        if let lora, lora.expert != 1 {
            throw TributaryError("train.invalid_options", "the trained expert is expert 1, its LoRA update names expert \(lora.expert)")
        }
        let assembled = try ExpertAssembly.assemble(anchor: a, experts: [anchorFFN, anchorFFN],
                                                    routerRows: [RouterRows.select(anchor.routerRows, layers: layers, hidden: C),
                                                                 RouterRows.select(routerRows, layers: layers, hidden: C)], topK: 2)
        let model = try lora.map { try assembled.withLoRA($0, seed: options.seed) } ?? assembled
        let batcher = try Batcher(source: tokens, batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        if restart, let dir = checkpointDirectory { TrainingCheckpointStore(directory: dir, keep: 0).clear() }
        let replay = try publicTokens.map {
            Trainer.AuxiliaryBatches(batcher: try Batcher(source: $0, batch: options.batchSize, seqLen: options.seqLen, seed: options.seed &+ 7919),
                                     every: publicEvery)
        }
        let rowsDigest = Hex.encode(SHA256.digest(routerRows.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
        let trainer = try Trainer(model: model, mode: .expert(1, router: trainRouter), options: options, batcher: batcher,
                                  auxiliary: replay, dpSGD: dpSGD, checkpointDirectory: checkpointDirectory,
                                  baseFingerprint: "anchor-\(anchor.identity)-rows-\(rowsDigest)-layers-\(layers.map(String.init).joined(separator: ","))", dataFingerprint: dataFingerprint)
        let result = try trainer.run(progress: progress)
        return Result(model: model, training: result, initialRouterRows: routerRows)
    }
}
