import Dispatch
import Foundation
import TributaryCore

public struct TrainingResult: Sendable {
    public let steps: Int
    public let finalLoss: Double
    /// Mean training loss (nats per token) of every step, from step 0, including resumed history.
    public let losses: [Double]
    public let tokensPerSecond: Double
    public let seconds: Double
    public let resumedFrom: Int?
    public let stoppedEarly: Bool
}

/// The training loop: data-parallel workers (one shard of the batch each, single-threaded sgemm
/// inside), gradient sum, global-norm clipping, AdamW with a cosine schedule, checkpoints, resume.
public final class Trainer {
    public let model: Model
    public let trainable: Trainability
    public let options: TrainingOptions
    let batcher: Batcher
    /// Every `every`-th step trains on `batcher`'s batch with only `trainable`, a subset of what the main
    /// steps train (FlexOlmo expert training replays public text here, so the expert and its router row
    /// learn what is not their domain and the expert does not degrade it).
    public struct AuxiliaryBatches: Sendable {
        public let batcher: Batcher
        public let every: Int
        public init(batcher: Batcher, every: Int) {
            self.batcher = batcher
            self.every = every
        }
    }
    let auxiliary: AuxiliaryBatches?
    /// Router tuning's routing loss on the main batches: a label per token of `batcher`'s stream (the
    /// expert its text came from, 0 for none) and the loss's weight against the next-token loss.
    public struct RoutingLabels: Sendable {
        public let labels: [Int32]
        public let weight: Float
        public init(labels: [Int32], weight: Float) {
            self.labels = labels
            self.weight = weight
        }
    }
    let routing: RoutingLabels?
    let checkpoints: TrainingCheckpointStore?
    let optimizer: AdamW
    let workers: [(acts: Activations, grads: FloatBuffer)]
    /// DP-SGD on private documents (its private steps); nil: the batched steps of `batcher`.
    let dp: DPSGDRun?
    /// The last DP-SGD step's sample and clipping.
    public internal(set) var lastDPStatistics: DPSGDStepStatistics?
    /// Tokens the last step ran through the model (padding included: it costs the same).
    public internal(set) var lastStepTokens = 0
    /// Identifies (model base, data, mode, options): a checkpoint resumes only the same run.
    public let fingerprint: String

    /// `baseFingerprint` names what the model started from (the anchor digest or the init seed).
    public init(model: Model, mode: Trainability.Mode, options: TrainingOptions, batcher: Batcher,
                auxiliary: AuxiliaryBatches? = nil, routing: RoutingLabels? = nil, dpSGD: (options: DPSGDOptions, documents: DocumentTokens)? = nil,
                checkpointDirectory: String?, baseFingerprint: String, dataFingerprint: String) throws {
        try options.validate(contextLength: model.config.contextLength)
        try dpSGD?.options.validate()
        self.model = model
        self.options = options
        self.batcher = batcher
        self.auxiliary = auxiliary
        self.routing = routing
        if let routing, routing.labels.count != batcher.source.count || !(routing.weight >= 0 && routing.weight.isFinite) {
            throw TributaryError("train.invalid_options", "the routing loss needs one label per token of the stream and a finite weight ≥ 0")
        }
        trainable = Trainability(layout: model.layout, mode: mode)
        if let aux = auxiliary, aux.every < 2 {
            throw TributaryError("train.invalid_options", "public replay every \(aux.every) steps: it must be at least 2")
        }
        var hyper = AdamW.Hyper()
        hyper.weightDecay = mode == .full ? options.weightDecay : 0  // FlexOlmo: no decay, or "frozen" rows would drift
        let decayable = Set(model.layout.tensors.filter { $0.shape.count == 2 }.map(\.offset))
        let routers = model.layout.layers.filter(\.isMoE).map { $0.router..<$0.router + model.config.numExperts * model.config.hiddenSize }
        let routerScale = options.routerLearningRate.map { $0 / options.learningRate } ?? 1
        let spans = trainable.ranges.map { r in
            (offset: r.offset, count: r.count,
             decay: decayable.contains(r.offset) || model.layout.tensors.contains { $0.shape.count == 2 && r.offset >= $0.offset && r.offset < $0.offset + $0.count },
             lrScale: routers.contains { $0.contains(r.offset) } ? routerScale : 1)
        }
        optimizer = AdamW(spans: spans, hyper: hyper)
        let per = options.batchSize / options.workers, keepFrom = trainable.lowestBackwardLayer
        dp = dpSGD.map { DPSGDRun(options: $0.options, documents: $0.documents, model: model, seqLen: options.seqLen, workers: options.workers, keepFrom: keepFrom) }
        workers = (0..<options.workers).map { _ in
            // Gradients are written only where something trains: untouched pages of the rest are never resident.
            (Activations(config: model.config, batch: per, seqLen: options.seqLen, keepFrom: keepFrom),
             FloatBuffer(count: model.layout.count, zeroed: false))
        }
        let modeText: String
        switch mode {
        case .full: modeText = "full"
        case let .expert(i, router): modeText = "expert\(i)" + (router ? "+router" : "") + (model.config.lora.map { "+lora(\($0))" } ?? "")
        case let .routerRows(from): modeText = "router-rows\(from)+"
        }
        let h = SHA256Hasher()
        h.update(JSONWriter.serialize(.object([
            ("config", model.config.huggingFaceJSON), ("mode", .string(modeText)), ("options", options.json),
            ("base", .string(baseFingerprint)), ("data", .string(dataFingerprint)),
            ("auxiliary", auxiliary.map { .object([("every", .int($0.every)), ("data", .string($0.batcher.source.fingerprint))]) } ?? .null),
            ("dpSGD", dpSGD?.options.json ?? .null),
        ] + (routing.map { [("routingLoss", .double(Double($0.weight)))] } ?? []))))
        fingerprint = Hex.encode(h.finalize())
        checkpoints = checkpointDirectory.map { TrainingCheckpointStore(directory: $0, keep: options.keepCheckpoints) }
        model.materialiseLoRA()
    }

    public var schedule: CosineSchedule {
        CosineSchedule(maxLR: options.learningRate, minLR: options.learningRate * options.minLRFraction,
                       warmupSteps: options.warmupSteps, totalSteps: options.steps)
    }

    /// Trains to `options.steps`, resuming from the newest matching checkpoint when there is one.
    public func run(progress: ProgressReporter? = nil) throws -> TrainingResult {
        var start = 0
        var losses = [Double]()
        var resumed: Int?
        if let store = checkpoints, let ckpt = try store.latest(fingerprint: fingerprint) {
            try restore(ckpt)
            start = ckpt.step
            losses = ckpt.losses
            resumed = ckpt.step
            progress?.log("resuming from checkpoint at step \(ckpt.step)")
        }
        let t0 = ProgressReporter.now()
        var tokens = 0
        var step = start
        while step < options.steps {
            if let stop = options.stopAfter, step >= stop { break }
            let loss = trainStep(step)
            losses.append(loss)
            step += 1
            tokens += lastStepTokens
            let rate = Double(tokens) / max(ProgressReporter.now() - t0, 1e-9)
            progress?.update(step: step, total: options.steps,
                             fields: [String(format: "loss %.4f", loss), "lr \(String(format: "%.2e", schedule.lr(step: step - 1)))",
                                      "\(ProgressReporter.thousands(rate)) tok/s"])
            if let store = checkpoints, options.checkpointEvery > 0, step % options.checkpointEvery == 0 || step == options.steps {
                try store.save(TrainingCheckpoint(step: step, fingerprint: fingerprint, trainable: trainableValues(),
                                          m: optimizer.m.array, v: optimizer.v.array, losses: losses))
            }
        }
        let seconds = ProgressReporter.now() - t0
        return TrainingResult(steps: step, finalLoss: losses.last ?? .nan, losses: losses,
                              tokensPerSecond: Double(tokens) / max(seconds, 1e-9),
                              seconds: seconds, resumedFrom: resumed, stoppedEarly: step < options.steps)
    }

    /// One optimisation step on the batch of `step`; returns the mean loss (nats per token).
    public func trainStep(_ step: Int) -> Double {
        if let dp, isPrivateStep(step) {
            let loss = dpTrainStep(step, dp)
            lastStepTokens = (lastDPStatistics?.documents ?? 0) * options.seqLen
            return loss
        }
        lastStepTokens = options.batchSize * options.seqLen
        let aux = isPrivateStep(step) ? nil : auxiliary
        let (inputs, targets) = (aux?.batcher ?? batcher).batch(step: step)
        let labels = aux == nil ? routing.map { batcher.labels(step: step, of: $0.labels) } : nil
        let per = options.batchSize / options.workers * options.seqLen
        let scale = 1 / Float(options.batchSize * options.seqLen)
        var shardLoss = [Double](repeating: 0, count: workers.count)
        shardLoss.withUnsafeMutableBufferPointer { lossOut in
            let out = lossOut.baseAddress!
            inputs.withUnsafeBufferPointer { inp in
                targets.withUnsafeBufferPointer { tgt in
                    parallelFor(workers.count) { w in
                        let (acts, grads) = workers[w]
                        acts.load(tokens: UnsafeBufferPointer(rebasing: inp[w * per..<(w + 1) * per]),
                                  targets: UnsafeBufferPointer(rebasing: tgt[w * per..<(w + 1) * per]))
                        if let labels, let routing = self.routing {
                            labels.withUnsafeBufferPointer {
                                acts.setRoutingLabels(UnsafeBufferPointer(rebasing: $0[w * per..<(w + 1) * per]), weight: routing.weight * scale)
                            }
                        }
                        for r in self.trainable.ranges { grads.zero(offset: r.offset, count: r.count) }
                        out[w] = model.forward(acts, gradScale: options.maximiseLoss ? -scale : scale)
                        model.backward(acts, grads: grads, trainable: self.trainable)
                    }
                }
            }
        }
        // Sum the workers' gradients into worker 0's buffer, in a fixed order.
        let g = workers[0].grads.pointer
        for w in 1..<workers.count {
            let other = workers[w].grads.pointer
            for r in trainable.ranges { FastMath.axpy(1, other + r.offset, g + r.offset, r.count) }
        }
        // Global-norm clipping.
        var sq: Double = 0
        for r in trainable.ranges { sq += Double(FastMath.dot(g + r.offset, g + r.offset, r.count)) }
        let norm = sq.squareRoot()
        if norm > Double(options.gradClip) {
            let s = Float(Double(options.gradClip) / norm)
            for r in trainable.ranges { for i in r.offset..<r.offset + r.count { g[i] *= s } }
        }
        optimizer.update(params: model.parameters.pointer, grads: g, lr: schedule.lr(step: step))
        model.materialiseLoRA()
        return shardLoss.reduce(0, +) * Double(scale)
    }

    func trainableValues() -> [Float] {
        var out = [Float]()
        out.reserveCapacity(trainable.trainableCount)
        for r in trainable.ranges { out += model.parameters.slice(r.offset, r.count) }
        return out
    }

    func restore(_ ckpt: TrainingCheckpoint) throws {
        guard ckpt.trainable.count == trainable.trainableCount, ckpt.m.count == optimizer.m.count else {
            throw TributaryError("train.checkpoint_mismatch", "checkpoint at step \(ckpt.step) does not fit this model")
        }
        var k = 0
        ckpt.trainable.withUnsafeBufferPointer { src in
            for r in trainable.ranges {
                (model.parameters.pointer + r.offset).update(from: src.baseAddress! + k, count: r.count)
                k += r.count
            }
        }
        optimizer.restore(step: ckpt.step, m: ckpt.m, v: ckpt.v)
        model.materialiseLoRA()
    }
}
