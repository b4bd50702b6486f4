import Foundation
import TributaryCore

/// FlexOlmo expert training against a frozen anchor: every FFN becomes a 2-expert MoE (expert 0 = the
/// anchor FFN, frozen; expert 1 = a copy, trained), router row 0 = the anchor's (frozen), router row 1
/// starts at the owner's own mean hidden state (trained). Nothing else trains; weight decay is 0.
public enum ExpertTraining {
    public struct Result: Sendable {
        /// The trained 2-expert model.
        public let model: Model
        public let training: TrainingResult
        /// The owner's router rows before training (the plain mean), [L * C].
        public let initialRouterRows: [Float]
        public var expert: ExpertWeights { ExpertWeights(expert: 1, of: model) }
        public var trainedRouterRows: [Float] { ExpertAssembly.routerRows(of: model)[1] }
    }

    public static func train(anchor: AnchorDirectory, data: Corpus, options: TrainingOptions, checkpointDirectory: String?,
                             restart: Bool, progress: ProgressReporter?) throws -> Result {
        let a = anchor.model, c = a.config
        progress?.log("measuring the anchor's hidden states over \(data.documents.count) documents for router row 1")
        let stats = Evaluator.documentStatistics(model: a, corpus: data, workers: options.workers)
        let ownRows = Evaluator.routerRows(stats, layers: c.numLayers, hidden: c.hiddenSize)
        let anchorFFN = ExpertWeights(denseFFNOf: a)
        let model = try ExpertAssembly.assemble(anchor: a, experts: [anchorFFN, anchorFFN], routerRows: [anchor.routerRows, ownRows], topK: 2)
        let batcher = try Batcher(stream: data.tokenStream(), batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        if restart, let dir = checkpointDirectory { CheckpointStore(directory: dir, keep: 0).clear() }
        let trainer = try Trainer(model: model, mode: .expert(1), options: options, batcher: batcher,
                                  checkpointDirectory: checkpointDirectory, baseFingerprint: "anchor-" + anchor.digest,
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
