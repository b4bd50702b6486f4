import Foundation
import TributaryCore

/// What a DP-SGD run adds to a trainer: its options, the documents, and per worker a one-sequence
/// activation set, a gradient buffer for one document and the sum of the clipped ones.
final class DPSGDRun: @unchecked Sendable {
    let options: DPSGDOptions
    let documents: DocumentTokens
    let workers: [(acts: Activations, grads: FloatBuffer, sum: FloatBuffer)]

    init(options: DPSGDOptions, documents: DocumentTokens, model: Model, seqLen: Int, workers n: Int, keepFrom: Int) {
        self.options = options
        self.documents = documents
        workers = (0..<n).map { _ in
            (Activations(config: model.config, batch: 1, seqLen: seqLen, keepFrom: keepFrom),
             FloatBuffer(count: model.layout.count, zeroed: false), FloatBuffer(count: model.layout.count, zeroed: false))
        }
    }
}

/// Statistics of one DP-SGD step, for progress and tests.
public struct DPSGDStepStatistics: Sendable {
    /// Documents sampled into the batch.
    public let documents: Int
    /// Of those, how many had their gradient scaled down to the clip norm.
    public let clipped: Int
}

extension Trainer {
    /// Whether step `step` trains on private documents; with public replay every `replayEvery` steps,
    /// the last of each `replayEvery` replays public text and spends no privacy.
    public static func isPrivateStep(_ step: Int, replayEvery: Int?) -> Bool {
        guard let every = replayEvery else { return true }
        return step % every != every - 1
    }

    /// The private steps of a run of `steps`: how many sampled Gaussian mechanisms it composes.
    public static func privateSteps(_ steps: Int, replayEvery: Int?) -> Int {
        (0..<steps).filter { isPrivateStep($0, replayEvery: replayEvery) }.count
    }

    public func isPrivateStep(_ step: Int) -> Bool { Self.isPrivateStep(step, replayEvery: auxiliary?.every) }
    public var privateSteps: Int { Self.privateSteps(options.steps, replayEvery: auxiliary?.every) }

    /// One DP-SGD step (`DPSGDOptions`); returns the mean over sampled documents of their mean token
    /// loss (nats), 0 when none was sampled.
    func dpTrainStep(_ step: Int, _ dp: DPSGDRun) -> Double {
        let (loss, statistics) = dpGradient(step, dp)
        optimizer.update(params: model.parameters.pointer, grads: dp.workers[0].sum.pointer, lr: schedule.lr(step: step))
        model.materialiseLoRA()
        lastDPStatistics = statistics
        return loss
    }

    /// Step `step`'s private gradient, left in `dp.workers[0].sum` (its trainable spans): the sum of
    /// the sampled documents' clipped gradients plus the noise, divided by the expected batch q·N.
    func dpGradient(_ step: Int, _ dp: DPSGDRun) -> (loss: Double, statistics: DPSGDStepStatistics) {
        var randomness = DPRandomness(insecureSeed: dp.options.insecureSeed, step: step, stream: 0)
        var sampler = randomness.generator()
        let sample = poissonSample(documents: dp.documents.documents.count, rate: dp.options.samplingRate, rng: &sampler)
        // The windows are drawn here, in sample order, so the work split cannot change them.
        let windows = sample.map { dp.documents.window($0, seqLen: options.seqLen, rng: &sampler) }
        let W = dp.workers.count, C = dp.options.clipNorm
        var losses = [Double](repeating: 0, count: W), clippedCounts = [Int](repeating: 0, count: W)
        losses.withUnsafeMutableBufferPointer { lossOut in
            clippedCounts.withUnsafeMutableBufferPointer { clipOut in
                let lossPtr = lossOut.baseAddress!, clipPtr = clipOut.baseAddress!
                parallelFor(W) { w in
                    let (acts, grads, sum) = dp.workers[w]
                    for r in self.trainable.ranges { sum.zero(offset: r.offset, count: r.count) }
                    // Worker w takes documents w, w + W, ...: a fixed assignment, so a seeded run repeats.
                    for k in stride(from: w, to: windows.count, by: W) {
                        let win = windows[k]
                        win.inputs.withUnsafeBufferPointer { i in win.targets.withUnsafeBufferPointer { t in acts.load(tokens: i, targets: t) } }
                        for r in self.trainable.ranges { grads.zero(offset: r.offset, count: r.count) }
                        let scale = 1 / Float(win.counted)
                        lossPtr[w] += self.model.forward(acts, gradScale: scale) * Double(scale)
                        self.model.backward(acts, grads: grads, trainable: self.trainable)
                        let g = grads.pointer
                        let norm = self.trainable.ranges.reduce(0) { $0 + squaredNorm(g + $1.offset, $1.count) }.squareRoot()
                        // Scaled to at most C; the factor is rounded down so the Float result stays within C.
                        let factor = norm > C ? Float(C / norm).nextDown : 1
                        if norm > C { clipPtr[w] += 1 }
                        for r in self.trainable.ranges { FastMath.axpy(factor, g + r.offset, sum.pointer + r.offset, r.count) }
                    }
                }
            }
        }
        // Sum the workers' clipped sums in a fixed order, add the noise, divide by the expected batch.
        let g = dp.workers[0].sum.pointer
        for w in 1..<W {
            let other = dp.workers[w].sum.pointer
            for r in trainable.ranges { FastMath.axpy(1, other + r.offset, g + r.offset, r.count) }
        }
        var noise = DPRandomness(insecureSeed: dp.options.insecureSeed, step: step, stream: 1)
        let expected = Float(dp.options.samplingRate * Double(dp.documents.documents.count))
        for r in trainable.ranges {
            noise.addGaussian(sigma: dp.options.noiseMultiplier * C, to: g + r.offset, count: r.count)
            for i in r.offset..<r.offset + r.count { g[i] /= expected }
        }
        return (sample.isEmpty ? 0 : losses.reduce(0, +) / Double(sample.count),
                DPSGDStepStatistics(documents: sample.count, clipped: clippedCounts.reduce(0, +)))
    }
}
