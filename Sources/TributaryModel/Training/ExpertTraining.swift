import Foundation
import TributaryCore

/// FlexOlmo expert training against a frozen anchor: every FFN becomes a 2-expert MoE (expert 0 = the
/// anchor FFN, frozen; expert 1 = a copy, trained), router row 0 = the anchor's (frozen), router row 1
/// = the owner's mean hidden state (the DP one, from TributaryRouting), trained only when
/// `trainRouter` is set. Nothing else trains; weight decay is 0.
public enum ExpertTraining {
    public struct Result: Sendable {
        /// The trained 2-expert model.
        public let model: Model
        public let training: TrainingResult
        /// The owner's router rows before training, [L * C].
        public let initialRouterRows: [Float]
        public var expert: ExpertWeights { ExpertWeights(expert: 1, of: model) }
        public var trainedRouterRows: [Float] { ExpertAssembly.routerRows(of: model)[1] }
    }

    /// `routerRows`: the owner's initial router rows [L * C]; nil computes the plain (non-private) mean.
    /// `publicText`: public text (the anchor's kind) that every `publicEvery`-th step trains on — the
    /// expert and its router row (`publicTrainsExpert`, replay) or the router row alone. Measured on the
    /// demo (benchmarks/README.md): without it the expert, mixed into every token by a 2-expert router,
    /// made public text 25% worse than the anchor; with replay every 2nd step, 2.6%.
    public static func train(anchor: AnchorDirectory, data: Corpus, routerRows: [Float]? = nil, trainRouter: Bool = true,
                             publicText: Corpus? = nil, publicEvery: Int = 2, publicTrainsExpert: Bool = true,
                             options: TrainingOptions, checkpointDirectory: String?, restart: Bool,
                             progress: ProgressReporter?) throws -> Result {
        let a = anchor.model, c = a.config
        let ownRows: [Float]
        if let routerRows {
            guard routerRows.count == c.numLayers * c.hiddenSize else {
                throw TributaryError("model.shape_mismatch", "router rows have \(routerRows.count) values, the anchor needs \(c.numLayers * c.hiddenSize)")
            }
            ownRows = routerRows
        } else {
            let stats = Evaluator.documentStatistics(model: a, corpus: data, workers: options.workers)
            ownRows = Evaluator.routerRows(stats, layers: c.numLayers, hidden: c.hiddenSize)
        }
        let anchorFFN = ExpertWeights(denseFFNOf: a)
        let model = try ExpertAssembly.assemble(anchor: a, experts: [anchorFFN, anchorFFN], routerRows: [anchor.routerRows, ownRows], topK: 2)
        let batcher = try Batcher(stream: data.tokenStream(), batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        if restart, let dir = checkpointDirectory { CheckpointStore(directory: dir, keep: 0).clear() }
        var auxiliary: Trainer.AuxiliaryBatches?
        if let publicText, trainRouter {
            auxiliary = .init(batcher: try Batcher(stream: publicText.tokenStream(), batch: options.batchSize, seqLen: options.seqLen,
                                                   seed: options.seed &+ 7919),
                              trainable: Trainability(layout: model.layout, mode: publicTrainsExpert ? .expert(1, router: true) : .routerRow(1)),
                              every: publicEvery)
        }
        let trainer = try Trainer(model: model, mode: .expert(1, router: trainRouter), options: options, batcher: batcher,
                                  auxiliary: auxiliary,
                                  checkpointDirectory: checkpointDirectory,
                                  baseFingerprint: "anchor-\(anchor.digest)-rows-\(Hex.encode(SHA256.digest(ownRows.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })))",
                                  dataFingerprint: data.fingerprint)
        let result = try trainer.run(progress: progress)
        return Result(model: model, training: result, initialRouterRows: ownRows)
    }

    public static func summary(_ r: TrainingResult, options: TrainingOptions) -> TrainingSummary {
        TrainingSummary(recipe: "flexolmo-v1", steps: r.steps, tokens: r.steps * options.batchSize * options.seqLen,
                        batchSize: options.batchSize, contextLength: options.seqLen, learningRate: Double(options.learningRate),
                        seed: Int(options.seed), finalLoss: r.finalLoss.isFinite ? r.finalLoss : 0)
    }
}
