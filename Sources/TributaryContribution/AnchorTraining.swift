import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// `tributary anchor train`: dense pretraining on public text, then the anchor directory.
public enum AnchorTraining {
    public struct Result: Sendable {
        public let training: TrainingResult
        /// Empty when the run stopped early (`stopAfter`): no directory was written.
        public let digest: String
        public let heldOut: Evaluation?
    }

    /// Trains from scratch (or resumes from `out/checkpoints`) and writes the anchor directory, with
    /// `clusters` public centroids as the anchor's routing entry.
    public static func train(config: ModelConfig, train: Corpus, heldOut: Corpus?, options: TrainingOptions, clusters: Int,
                             space: SignatureSpace.Recipe = .init(), spaceText: Corpus? = nil, out: String, restart: Bool, progress: ProgressReporter?) throws -> Result {
        try config.validate()
        guard !config.isMoE else { throw TributaryError("anchor.not_dense", "the anchor must be dense") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let model = Model.initialised(config: config, seed: options.seed)
        let batcher = try Batcher(stream: train.tokenStream(model.tokenizer), batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        let ckptDir = out + "/checkpoints"
        if restart { TrainingCheckpointStore(directory: ckptDir, keep: 0).clear() }
        let trainer = try Trainer(model: model, mode: .full, options: options, batcher: batcher, checkpointDirectory: ckptDir,
                                  baseFingerprint: "init-seed-\(options.seed)", dataFingerprint: train.fingerprint)
        let result = try trainer.run(progress: progress)
        guard !result.stoppedEarly else { return Result(training: result, digest: "", heldOut: nil) }
        progress?.log("computing the anchor's router rows and centroids over \(train.documents.count) public documents")
        try ModelDirectory.save(model, to: out)
        try AnchorDirectory.writeRouting(model: model, publicText: train, clusters: clusters, space: space, spaceText: spaceText, seed: options.seed,
                                         workers: options.workers, to: out)
        let digest = try AnchorDirectory.digest(out)
        let held = heldOut.map { Evaluator.evaluate(model: model, corpus: $0, workers: options.workers) }
        let summary = JSONValue.object([
            ("digest", .object([("sha256", .string(digest))])),
            ("config", config.huggingFaceJSON),
            ("training", .object([("steps", .int(result.steps)), ("tokens", .int(result.steps * options.batchSize * options.seqLen)),
                                  ("finalLoss", .double(result.finalLoss)), ("seconds", .double(result.seconds)),
                                  ("options", options.json)])),
            ("corpus", .object([("documents", .int(train.documents.count)), ("bytes", .int(train.totalBytes)),
                                ("fingerprint", .string(train.fingerprint))])),
            ("heldOutBitsPerByte", held.map { .double($0.bitsPerByte) } ?? .null),
        ])
        try AtomicFileWriter.write(JSONWriter.serialize(summary) + [0x0a], to: out + "/" + AnchorDirectory.summaryFile)
        return Result(training: result, digest: digest, heldOut: held)
    }
}
