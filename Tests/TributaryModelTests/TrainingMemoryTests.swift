import Testing
@testable import TributaryModel

/// Issue 25: training's memory is estimated from shapes before anything is allocated, and activations
/// keep only the layers the backward pass reads.
@Suite struct TrainingMemoryTests {
    static let dense = ModelConfig(vocabSize: 50, hiddenSize: 16, numLayers: 4, numHeads: 2, intermediateSize: 24, contextLength: 16)

    /// The estimate is what `Activations` allocates, for every kind of run.
    @Test func theActivationEstimateIsWhatIsAllocated() {
        let moe = Self.dense.withExperts(2, topK: 2, layers: [2, 3])
        let all = Self.dense.withExperts(3, topK: 2)
        for (config, keepFrom) in [(Self.dense, 0), (moe, 0), (moe, 2), (all, 1), (all, 0)] {
            for training in [true, false] {
                let acts = Activations(config: config, batch: 3, seqLen: 5, training: training, keepFrom: keepFrom)
                #expect(Activations.floatCount(config: config, batch: 3, seqLen: 5, training: training, keepFrom: keepFrom) == acts.allocatedFloats,
                        "layers \(config.moeLayers), keep from \(keepFrom), training \(training)")
            }
        }
        // Inference passes that stop at a layer: the streams above it and the logits are left out, and
        // such a pass reads what a full-size pass reads (the statistics tests check the values).
        for stop in [0, 2, 4] {
            let acts = Activations(config: moe, batch: 3, seqLen: 5, training: false, throughLayer: stop)
            #expect(Activations.floatCount(config: moe, batch: 3, seqLen: 5, training: false, throughLayer: stop) == acts.allocatedFloats)
            #expect(acts.allocatedFloats < Activations.floatCount(config: moe, batch: 3, seqLen: 5, training: false))
            let full = Activations(config: moe, batch: 3, seqLen: 5, training: false)
            let model = Model.initialised(config: moe, seed: 3)
            let tokens = (0..<15).map { Int32($0 % 7) }, targets = [Int32](repeating: -1, count: 15)
            var seen = [[Float]]()
            for a in [acts, full] {
                tokens.withUnsafeBufferPointer { t in targets.withUnsafeBufferPointer { a.load(tokens: t, targets: $0) } }
                _ = model.forward(a, computeLoss: false, throughLayer: stop) { l, x in
                    if l == stop { seen.append(Array(UnsafeBufferPointer(start: x, count: 15 * moe.hiddenSize))) }
                }
            }
            // The same kernels on the same inputs in the same order: the same values.
            #expect(seen.count == 2 && seen[0] == seen[1])
        }
        // Keeping layers 2 and 3 only costs less than keeping all four.
        #expect(Activations.floatCount(config: moe, batch: 3, seqLen: 5, keepFrom: 2) < Activations.floatCount(config: moe, batch: 3, seqLen: 5))
    }

    /// Expert training through activations that keep only the expert layers computes the same
    /// gradients, bit for bit, as through activations that keep every layer.
    @Test func keepingOnlyTheLayersTheBackwardReadsChangesNoGradient() {
        let config = Self.dense.withExperts(2, topK: 2, layers: [2, 3])
        let model = Model.initialised(config: config, seed: 5)
        let tr = Trainability(layout: model.layout, mode: .expert(1, router: true))
        #expect(tr.lowestBackwardLayer == 2)
        var rng = RNG(seed: 3)
        let tokens = (0..<12).map { _ in Int32(rng.below(50)) }, targets = (0..<12).map { _ in Int32(rng.below(50)) }
        func gradients(keepFrom: Int) -> [Float] {
            let acts = Activations(config: config, batch: 2, seqLen: 6, keepFrom: keepFrom)
            tokens.withUnsafeBufferPointer { t in targets.withUnsafeBufferPointer { acts.load(tokens: t, targets: $0) } }
            let grads = FloatBuffer(count: model.layout.count)
            model.forward(acts, gradScale: 1)
            model.backward(acts, grads: grads, trainable: tr)
            return grads.array
        }
        #expect(gradients(keepFrom: 2).map(\.bitPattern) == gradients(keepFrom: 0).map(\.bitPattern))
    }
}
