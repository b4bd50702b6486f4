import TributaryCore

/// Where every weight lives in the model's single flat parameter buffer, under its Hugging Face name.
///
/// q [H·D, C], k and v [KV·D, C] each are adjacent so they form one [qkvDim, C] matrix (one sgemm); so
/// are gate (w1) and up (w3), forming [2F, C]. With tied embeddings lm_head is the embedding itself
/// (same offset, no tensor of its own). The order is ours; names and shapes are transformers'.
public struct ParameterLayout: Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public struct Layer: Sendable {
        public let attnNorm: Int, qkv: Int, o: Int, ffnNorm: Int
        public var isMoE: Bool { router >= 0 }
        /// Dense MLP: w13 [2F, C] (gate then up), w2 [C, F]. -1 in an MoE layer.
        public let w13: Int, w2: Int
        /// MoE: router [E, C] and per expert w13, w2. Empty in a dense layer.
        public let router: Int, expertW13: [Int], expertW2: [Int]
        /// With `config.lora`: the offsets of its factors A [r, in] and B [out, r] per target, indexed
        /// like `LoRAShape.Target.allCases` (-1 for a projection it does not target). Empty otherwise.
        public fileprivate(set) var loraA: [Int] = [], loraB: [Int] = []
    }

    public let config: ModelConfig
    public let tensors: [Tensor]
    public let embed: Int, finalNorm: Int, lmHead: Int
    public let layers: [Layer]
    public let count: Int

    public init(_ c: ModelConfig) {
        var tensors = [Tensor]()
        var next = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let t = Tensor(name: name, shape: shape, offset: next)
            tensors.append(t)
            next += t.count
            return t.offset
        }
        let C = c.hiddenSize, F = c.intermediateSize
        embed = add(TensorNames.embedTokens, [c.vocabSize, C])
        var layers = [Layer]()
        for l in 0..<c.numLayers {
            let attnNorm = add(TensorNames.inputNorm(l), [C])
            let qkv = add(TensorNames.qProj(l), [c.qDim, C])
            _ = add(TensorNames.kProj(l), [c.kvDim, C])
            _ = add(TensorNames.vProj(l), [c.kvDim, C])
            let o = add(TensorNames.oProj(l), [C, c.qDim])
            let ffnNorm = add(TensorNames.postAttentionNorm(l), [C])
            if c.isExpertLayer(l) {
                let router = add(TensorNames.router(l), [c.numExperts, C])
                var w13 = [Int](), w2 = [Int]()
                for e in 0..<c.numExperts {
                    w13.append(add(TensorNames.expertW1(l, e), [F, C]))
                    _ = add(TensorNames.expertW3(l, e), [F, C])
                    w2.append(add(TensorNames.expertW2(l, e), [C, F]))
                }
                layers.append(Layer(attnNorm: attnNorm, qkv: qkv, o: o, ffnNorm: ffnNorm, w13: -1, w2: -1,
                                    router: router, expertW13: w13, expertW2: w2))
            } else {
                let w13 = add(TensorNames.mlpGate(l), [F, C])
                _ = add(TensorNames.mlpUp(l), [F, C])
                let w2 = add(TensorNames.mlpDown(l), [C, F])
                layers.append(Layer(attnNorm: attnNorm, qkv: qkv, o: o, ffnNorm: ffnNorm, w13: w13, w2: w2,
                                    router: -1, expertW13: [], expertW2: []))
            }
        }
        finalNorm = add(TensorNames.finalNorm, [C])
        lmHead = c.tieEmbeddings ? embed : add(TensorNames.lmHead, [c.vocabSize, C])
        // LoRA factors last, so the model without them has the same offsets (a prefix of this buffer).
        if let lora = c.lora {
            for l in c.moeLayers {
                layers[l].loraA = Array(repeating: -1, count: LoRAShape.Target.allCases.count)
                layers[l].loraB = layers[l].loraA
                for t in lora.targets {
                    let i = LoRAShape.Target.allCases.firstIndex(of: t)!, s = t.shape(c)
                    layers[l].loraA[i] = add(TensorNames.expertLoRA(l, lora.expert, t.mixtralName, "A"), [lora.rank, s.in])
                    layers[l].loraB[i] = add(TensorNames.expertLoRA(l, lora.expert, t.mixtralName, "B"), [s.out, lora.rank])
                }
            }
        }
        self.config = c
        self.tensors = tensors
        self.layers = layers
        self.count = next
    }

    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }
}

/// Which parameters train. Frozen ones get no gradient computed at all, and the backward pass stops
/// as soon as nothing below it can train.
public struct Trainability: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Every parameter (anchor pretraining).
        case full
        /// FlexOlmo: only expert `index`'s FFN in every layer, and its router row when `router` is set.
        /// When the model's `lora` belongs to that expert, its factors train instead of its weights.
        case expert(Int, router: Bool)
        /// Router tuning: only the router rows of experts `from...` in every expert layer.
        case routerRows(from: Int)
    }

    public let mode: Mode
    public let embed: Bool, finalNorm: Bool, lmHead: Bool
    public let attention: [Bool]        // q, k, v, o and input_layernorm of layer l
    public let ffnNorm: [Bool]
    public let denseFFN: [Bool]
    public let expert: [[Bool]]         // [layer][expert]
    public let routerRow: [[Bool]]      // [layer][expert]
    public let loraFactors: [Bool]      // [layer]: the LoRA factors of `config.lora` train
    /// Whether the gradient must flow into the input of layer l's FFN block / attention block.
    public let ffnInputGrad: [Bool]
    public let attentionInputGrad: [Bool]
    /// (offset, count) of every trainable span of the parameter buffer.
    public let ranges: [(offset: Int, count: Int)]

    public init(layout: ParameterLayout, mode: Mode) {
        let c = layout.config, L = c.numLayers, E = max(c.numExperts, 1)
        self.mode = mode
        let all = mode == .full
        var expertIndex = -1, trainRouter = all, routersFrom = Int.max
        if case let .expert(i, router) = mode {
            expertIndex = i
            trainRouter = router
        }
        if case let .routerRows(from) = mode { routersFrom = from }
        embed = all; finalNorm = all; lmHead = all
        attention = Array(repeating: all, count: L)
        ffnNorm = Array(repeating: all, count: L)
        denseFFN = (0..<L).map { all && !c.isExpertLayer($0) }
        let viaLoRA = expertIndex >= 0 && c.lora?.expert == expertIndex
        let trained = (0..<L).map { l in (0..<E).map { c.isExpertLayer(l) && (all || $0 == expertIndex) } }
        let experts = viaLoRA ? trained.map { $0.map { _ in false } } : trained
        expert = experts
        loraFactors = (0..<L).map { viaLoRA && c.isExpertLayer($0) }
        routerRow = (0..<L).map { l in (0..<E).map { e in (trained[l][e] && trainRouter) || (c.isExpertLayer(l) && e >= routersFrom) } }
        var ffnIn = [Bool](repeating: false, count: L), attnIn = ffnIn
        var below = embed
        for l in 0..<L {
            attnIn[l] = below
            below = below || attention[l]
            ffnIn[l] = below
            below = below || ffnNorm[l] || denseFFN[l] || expert[l].contains(true) || routerRow[l].contains(true) || loraFactors[l]
        }
        ffnInputGrad = ffnIn
        attentionInputGrad = attnIn

        var r = [(Int, Int)]()
        let C = c.hiddenSize, F = c.intermediateSize
        if embed { r.append((layout.embed, c.vocabSize * C)) }
        for l in 0..<L {
            let ly = layout.layers[l]
            if attention[l] { r.append((ly.attnNorm, C)); r.append((ly.qkv, c.qkvDim * C)); r.append((ly.o, C * c.qDim)) }
            if ffnNorm[l] { r.append((ly.ffnNorm, C)) }
            if denseFFN[l] { r.append((ly.w13, 2 * F * C)); r.append((ly.w2, C * F)) }
            if c.isExpertLayer(l) {
                for e in 0..<c.numExperts {
                    if routerRow[l][e] { r.append((ly.router + e * C, C)) }
                    if expert[l][e] { r.append((ly.expertW13[e], 2 * F * C)); r.append((ly.expertW2[e], C * F)) }
                }
            }
        }
        if let lora = c.lora {
            for l in 0..<L where loraFactors[l] {
                for (i, t) in LoRAShape.Target.allCases.enumerated() where lora.targets.contains(t) {
                    let s = t.shape(c)
                    r.append((layout.layers[l].loraA[i], lora.rank * s.in)); r.append((layout.layers[l].loraB[i], s.out * lora.rank))
                }
            }
        }
        if finalNorm { r.append((layout.finalNorm, C)) }
        if lmHead && !c.tieEmbeddings { r.append((layout.lmHead, c.vocabSize * C)) }
        ranges = r
    }

    public var trainableCount: Int { ranges.reduce(0) { $0 + $1.count } }

    /// The lowest layer the backward pass reads the intermediates of (it walks down from the top and
    /// stops where nothing below needs a gradient): training activations keep layers from here up.
    public var lowestBackwardLayer: Int {
        for l in stride(from: attention.count - 1, through: 0, by: -1) {
            guard ffnInputGrad[l], attention[l] || attentionInputGrad[l], attentionInputGrad[l] else { return l }
        }
        return 0
    }
}
