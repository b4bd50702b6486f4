import Testing
@testable import TributaryModel

@Suite struct ModelGradientTests {
    static let tinyDense = ModelConfig(vocabSize: 20, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 24, contextLength: 8)

    func batch(_ acts: Activations, seed: UInt64, vocab: Int) {
        var rng = RNG(seed: seed)
        let toks = (0..<acts.tokenCount).map { _ in Int32(rng.below(vocab)) }
        let tgts = (0..<acts.tokenCount).map { _ in Int32(rng.below(vocab)) }
        toks.withUnsafeBufferPointer { t in tgts.withUnsafeBufferPointer { acts.load(tokens: t, targets: $0) } }
    }

    /// Perturbs the model's weights a little away from the init so norms and biases-free paths all matter.
    func model(_ config: ModelConfig, seed: UInt64) -> Model {
        let m = Model.initialised(config: config, seed: seed)
        var rng = RNG(seed: seed + 100)
        for i in 0..<m.parameters.count { m.parameters[i] += Float(rng.normal() * 0.05) }
        return m
    }

    /// `prepare` runs before every loss evaluation (a LoRA model materialises its perturbed factors).
    func check(_ m: Model, mode: Trainability.Mode, samplesPerTensor: Int = 12, prepare: () -> Void = {}) {
        let acts = Activations(config: m.config, batch: 2, seqLen: 6)
        batch(acts, seed: 9, vocab: m.config.vocabSize)
        let tr = Trainability(layout: m.layout, mode: mode)
        let grads = FloatBuffer(count: m.layout.count)
        m.forward(acts, gradScale: 1)
        m.backward(acts, grads: grads, trainable: tr)
        let loss = { prepare(); return m.forward(acts, gradScale: nil) }
        var rng = RNG(seed: 77)
        var trainable = Set<Int>()
        for r in tr.ranges { for i in r.offset..<r.offset + r.count { trainable.insert(i) } }
        for t in m.layout.tensors {
            let idx = (0..<samplesPerTensor).map { _ in t.offset + rng.below(t.count) }
            let inTrainable = idx.filter(trainable.contains)
            expectGradientsMatch(t.name, analytic: grads, x: m.parameters.pointer, indices: inTrainable, tolerance: 3e-2, eps: 1e-2, f: loss)
            // Frozen weights: no gradient was computed at all, so the buffer is still exactly zero.
            for i in t.offset..<t.offset + t.count where !trainable.contains(i) {
                if grads[i] != 0 { Issue.record("\(t.name)[\(i - t.offset)] is frozen but got gradient \(grads[i])"); break }
            }
        }
    }

    @Test func wholeDenseModel() {
        check(model(Self.tinyDense, seed: 1), mode: .full)
    }

    /// SmolLM2's shape: grouped-query attention (3 query heads per key/value head), a head dimension
    /// of its own, tied embeddings (the output head's gradient lands in the embedding).
    static let tinyGQA = ModelConfig(vocabSize: 20, hiddenSize: 16, numLayers: 2, numHeads: 6, numKVHeads: 2, headDim: 4,
                                     tieEmbeddings: true, intermediateSize: 24, contextLength: 8)

    @Test func groupedQueryTiedModel() {
        check(model(Self.tinyGQA, seed: 4), mode: .full)
    }

    /// Experts in the top layer only: expert mode trains that layer's expert and router row, and the
    /// backward pass stops there (nothing below gets a gradient).
    @Test func expertInTopLayerOnly() {
        let m = model(Self.tinyGQA.withExperts(2, topK: 2, layers: [1]), seed: 5)
        check(m, mode: .expert(1, router: true))
        let tr = Trainability(layout: m.layout, mode: .expert(1, router: true))
        let C = m.config.hiddenSize, F = m.config.intermediateSize
        #expect(tr.trainableCount == C + 3 * F * C)
        #expect(tr.ffnInputGrad == [false, false] && tr.attentionInputGrad == [false, false])
    }

    /// All experts active: top-k selection is a step function of the router weights, so a finite
    /// difference across a selection change is meaningless. Top-k < E is checked at block level
    /// (KernelGradientTests.moeBlock) with a step too small to flip selections.
    @Test func wholeMoEModelFullyTrainable() {
        check(model(Self.tinyDense.withExperts(3, topK: 3), seed: 2), mode: .full)
    }

    @Test func flexOlmoExpertModeTrainsOnlyExpertAndRouterRow() {
        let m = model(Self.tinyDense.withExperts(2, topK: 2), seed: 3)
        check(m, mode: .expert(1, router: true))
        let tr = Trainability(layout: m.layout, mode: .expert(1, router: true))
        let C = m.config.hiddenSize, F = m.config.intermediateSize, L = m.config.numLayers
        #expect(tr.trainableCount == L * (C + 3 * F * C))
        #expect(tr.ffnInputGrad == [false, true])
        #expect(tr.attentionInputGrad == [false, true])
        let frozenRouter = Trainability(layout: m.layout, mode: .expert(1, router: false))
        #expect(frozenRouter.trainableCount == L * 3 * F * C)
        check(m, mode: .expert(1, router: false))
    }

    /// A LoRA expert: only its factors and router row get gradients, checked through the materialised
    /// weights (which the loss re-materialises after every perturbation); the expert's own weights,
    /// the anchor's FFN and everything below stay frozen. With every target and with one.
    @Test func loraExpertTrainsOnlyItsFactors() throws {
        let base = model(Self.tinyGQA.withExperts(2, topK: 2, layers: [1]), seed: 6)
        let C = base.config.hiddenSize
        for targets: [LoRAShape.Target] in [LoRAShape.Target.allCases, [.up]] {
            let lora = try LoRAShape(rank: 3, alpha: 6, targets: targets)
            let m = try base.withLoRA(lora, seed: 8)
            // B starts at zero (so the expert starts as the anchor's FFN), where A's gradient is zero too: move it.
            var rng = RNG(seed: 12)
            for t in m.layout.tensors where t.name.contains("lora_B") {
                for i in 0..<t.count { m.parameters[t.offset + i] = Float(rng.normal() * 0.2) }
            }
            m.materialiseLoRA()
            check(m, mode: .expert(1, router: true), prepare: m.materialiseLoRA)
            let tr = Trainability(layout: m.layout, mode: .expert(1, router: true))
            #expect(tr.trainableCount == C + lora.factorCount(m.config))
            #expect(tr.expert[1] == [false, false] && tr.loraFactors == [false, true])
        }
    }
}
