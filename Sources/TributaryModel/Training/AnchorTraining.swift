import Foundation
import TributaryCore

/// The public anchor on disk: a dense Llama model plus what every party needs to route against it.
///
///     DIR/config.json, DIR/model.safetensors   the model (transformers layout)
///     DIR/routing.safetensors                  router_rows [L, C], embedding_center [C]
///                                              (+ centroids of the public corpus)
///     DIR/anchor.json                          digest and training summary
public struct AnchorDirectory: Sendable {
    public static let routingFile = "routing.safetensors"
    public static let summaryFile = "anchor.json"

    public let path: String
    public let model: Model
    /// SHA-256 of model.safetensors.
    public let digest: String
    /// The anchor's router row per layer, [L * C].
    public let routerRows: [Float]
    /// The mean raw sequence embedding of the public corpus, [C]: subtracted from every embedding.
    public let embeddingCenter: [Float]
    public static let centerTensor = "embedding_center"

    /// The centroids of the public corpus (the anchor's routing entry), [k, C] and [k].
    public func publicCentroids() throws -> (centroids: [Float], counts: [Float]) {
        let f = try SafetensorsFile(path: path + "/" + Self.routingFile)
        return (try f.floats(BundleLayout.centroids), try f.floats(BundleLayout.centroidCounts))
    }

    public static func load(_ path: String) throws -> AnchorDirectory {
        let model = try ModelDirectory.load(path)
        guard !model.config.isMoE else {
            throw TributaryError("anchor.not_dense", "\(path) holds a Mixtral model; an anchor is a dense Llama model")
        }
        let routingPath = path + "/" + routingFile
        guard FileManager.default.fileExists(atPath: routingPath) else {
            throw TributaryError("anchor.incomplete", "\(path) has no \(routingFile): was it made by `tributary anchor train`?")
        }
        let routing = try SafetensorsFile(path: routingPath)
        let rows = try routing.floats(BundleLayout.routerRows)
        let c = model.config
        guard rows.count == c.numLayers * c.hiddenSize else {
            throw TributaryError("anchor.incomplete", "\(routingPath): router_rows has \(rows.count) values, expected \(c.numLayers) x \(c.hiddenSize)")
        }
        let center = try routing.floats(centerTensor)
        guard center.count == c.hiddenSize else {
            throw TributaryError("anchor.incomplete", "\(routingPath): \(centerTensor) has \(center.count) values, expected \(c.hiddenSize)")
        }
        return AnchorDirectory(path: path, model: model, digest: try ModelDirectory.digest(path), routerRows: rows, embeddingCenter: center)
    }
}

/// Dense pretraining of the anchor on public text.
public enum AnchorTraining {
    public struct Result: Sendable {
        public let training: TrainingResult
        public let digest: String
        public let heldOut: Evaluation?
    }

    /// Trains from scratch (or resumes from `out/checkpoints`) and writes the anchor directory.
    /// `extraRouting` adds tensors and metadata to routing.safetensors, given the public documents'
    /// statistics (TributaryRouting adds the public centroids this way).
    public static func train(config: ModelConfig, train: Corpus, heldOut: Corpus?, options: TrainingOptions, out: String,
                             restart: Bool, progress: ProgressReporter?,
                             extraRouting: (([DocumentStatistics]) throws -> (tensors: [(String, [Int], [Float])], metadata: [String: String]))? = nil) throws -> Result {
        try config.validate()
        guard !config.isMoE else { throw TributaryError("anchor.not_dense", "the anchor must be dense") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let model = Model.initialised(config: config, seed: options.seed)
        let batcher = try Batcher(stream: train.tokenStream(), batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        let ckptDir = out + "/checkpoints"
        if restart { CheckpointStore(directory: ckptDir, keep: 0).clear() }
        let trainer = try Trainer(model: model, mode: .full, options: options, batcher: batcher, checkpointDirectory: ckptDir,
                                  baseFingerprint: "init-seed-\(options.seed)", dataFingerprint: train.fingerprint)
        let result = try trainer.run(progress: progress)
        guard !result.stoppedEarly else {
            return Result(training: result, digest: "", heldOut: nil)
        }
        progress?.log("computing the anchor's router rows over \(train.documents.count) public documents")
        var stats = Evaluator.documentStatistics(model: model, corpus: train, workers: options.workers)
        let center = DocumentStatistics.center(stats)
        stats = stats.map { DocumentStatistics(layerMeans: $0.layerMeans, raw: $0.rawEmbedding, center: center, tokens: $0.tokens) }
        let rows = Evaluator.routerRows(stats, layers: config.numLayers, hidden: config.hiddenSize)
        try ModelDirectory.save(model, to: out)
        var routing = SafetensorsWriter()
        routing.add(BundleLayout.routerRows, shape: [config.numLayers, config.hiddenSize], values: rows)
        routing.add(AnchorDirectory.centerTensor, shape: [config.hiddenSize], values: center)
        if let extraRouting {
            let extra = try extraRouting(stats)
            for (name, shape, values) in extra.tensors { routing.add(name, shape: shape, values: values) }
            routing.metadata = extra.metadata
        }
        try routing.write(to: out + "/" + AnchorDirectory.routingFile)
        let digest = try ModelDirectory.digest(out)
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
