import TributaryCore

/// One feed-forward expert: for each of its `layers` the SwiGLU weights w1 [F, C], w2 [C, F], w3 [F, C].
public struct ExpertWeights: Sendable {
    /// The anchor layers this expert replaces the MLP of, ascending.
    public var layers: [Int]
    public var w1: [[Float]], w2: [[Float]], w3: [[Float]]
    public init(layers: [Int], w1: [[Float]], w2: [[Float]], w3: [[Float]]) {
        self.layers = layers
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The dense FFN of `layers` of `model` (every layer when nil), as an expert.
    public init(denseFFNOf model: Model, layers: [Int]? = nil) {
        let layers = layers ?? Array(0..<model.config.numLayers)
        precondition(layers.allSatisfy { !model.layout.layers[$0].isMoE })
        self.init(model, layers: layers, w13: layers.map { model.layout.layers[$0].w13 }, w2: layers.map { model.layout.layers[$0].w2 })
    }

    /// Expert `e` of an MoE model, in every layer that has experts.
    public init(expert e: Int, of model: Model) {
        let layers = model.config.moeLayers
        self.init(model, layers: layers, w13: layers.map { model.layout.layers[$0].expertW13[e] },
                  w2: layers.map { model.layout.layers[$0].expertW2[e] })
    }

    private init(_ model: Model, layers: [Int], w13: [Int], w2 w2Offsets: [Int]) {
        let c = model.config, C = c.hiddenSize, F = c.intermediateSize
        self.layers = layers
        w1 = w13.map { model.parameters.slice($0, F * C) }
        w3 = w13.map { model.parameters.slice($0 + F * C, F * C) }
        w2 = w2Offsets.map { model.parameters.slice($0, C * F) }
    }

    /// Writes the weights of its i-th layer into `model` at w13 [2F, C] (w1 then w3) and w2 [C, F].
    func write(index i: Int, into model: Model, w13: Int, w2 w2Offset: Int) {
        let C = model.config.hiddenSize, F = model.config.intermediateSize, dst = model.parameters.pointer
        w1[i].withUnsafeBufferPointer { (dst + w13).update(from: $0.baseAddress!, count: F * C) }
        w3[i].withUnsafeBufferPointer { (dst + w13 + F * C).update(from: $0.baseAddress!, count: F * C) }
        w2[i].withUnsafeBufferPointer { (dst + w2Offset).update(from: $0.baseAddress!, count: C * F) }
    }

    func fits(_ c: ModelConfig) -> Bool {
        let C = c.hiddenSize, F = c.intermediateSize, n = layers.count
        return n > 0 && layers == layers.sorted() && Set(layers).count == n && layers.allSatisfy { (0..<c.numLayers).contains($0) }
            && w1.count == n && w2.count == n && w3.count == n
            && w1.allSatisfy { $0.count == F * C } && w3.allSatisfy { $0.count == F * C } && w2.allSatisfy { $0.count == C * F }
    }
}

/// Builds Mixtral models from a dense anchor: the anchor's shared weights (embeddings, attention,
/// norms, lm_head) and, in every expert layer, experts [anchor FFN, contributed experts...] with
/// router rows stacked in the same order (FlexOlmo's merge); the other layers keep the anchor's MLP.
public enum ExpertAssembly {
    /// Copies what a model built from an anchor shares with it, whatever its feed-forward blocks:
    /// token embeddings, final norm, lm_head and, per layer, both norms and the attention weights.
    static func copySharedWeights(from src: Model, to dst: Model) {
        let c = src.config, C = c.hiddenSize
        precondition(c.dense == dst.config.dense, "models of different shapes share no weights")
        let s = src.parameters.pointer, d = dst.parameters.pointer
        func copy(_ from: Int, _ to: Int, _ n: Int) { (d + to).update(from: s + from, count: n) }
        copy(src.layout.embed, dst.layout.embed, c.vocabSize * C)
        copy(src.layout.finalNorm, dst.layout.finalNorm, C)
        if !c.tieEmbeddings { copy(src.layout.lmHead, dst.layout.lmHead, c.vocabSize * C) }
        for (a, b) in zip(src.layout.layers, dst.layout.layers) {
            copy(a.attnNorm, b.attnNorm, C)
            copy(a.qkv, b.qkv, c.qkvDim * C)
            copy(a.o, b.o, C * c.qDim)
            copy(a.ffnNorm, b.ffnNorm, C)
        }
    }

    /// `routerRows[e]` is expert e's rows [S, C] (row-major) over the experts' S layers. Expert 0 must
    /// be the anchor's own FFN; every expert covers the same layers.
    public static func assemble(anchor: Model, experts: [ExpertWeights], routerRows: [[Float]], topK: Int) throws -> Model {
        let a = anchor.config
        guard !a.isMoE else { throw TributaryError("model.not_dense", "the anchor must be a dense model") }
        guard experts.count == routerRows.count, !experts.isEmpty else {
            throw TributaryError("model.assembly", "\(experts.count) experts but \(routerRows.count) router rows")
        }
        let C = a.hiddenSize, layers = experts[0].layers
        for (e, ex) in experts.enumerated() where !ex.fits(a) || ex.layers != layers || routerRows[e].count != layers.count * C {
            throw TributaryError("model.shape_mismatch", "expert \(e) does not fit the anchor and the other experts (layers \(layers) of \(a.numLayers), hidden \(C), intermediate \(a.intermediateSize))")
        }
        let model = Model(config: a.withExperts(experts.count, topK: min(topK, experts.count), layers: layers), tokenizer: anchor.tokenizer)
        copySharedWeights(from: anchor, to: model)
        copyDenseFFN(from: anchor, to: model)
        let dst = model.parameters.pointer
        for (i, l) in layers.enumerated() {
            let d = model.layout.layers[l]
            for (e, ex) in experts.enumerated() {
                ex.write(index: i, into: model, w13: d.expertW13[e], w2: d.expertW2[e])
                routerRows[e].withUnsafeBufferPointer { (dst + d.router + e * C).update(from: $0.baseAddress! + i * C, count: C) }
            }
        }
        return model
    }

    /// FlexOlmo's merge from what the protocol stores: the anchor with its router rows, and contributed
    /// experts (all over the same layers) with theirs, every row set [L * C] over all anchor layers.
    /// Expert 0 of the result is the anchor's own FFN in those layers.
    public static func combine(anchor: Model, anchorRows: [Float], experts: [ExpertWeights], rows: [[Float]], topK: Int) throws -> Model {
        let c = anchor.config, C = c.hiddenSize
        let layers = experts.first?.layers ?? Array(0..<c.numLayers)
        for (i, r) in ([anchorRows] + rows).enumerated() where r.count != c.numLayers * C {
            throw TributaryError("model.shape_mismatch", "router rows \(i) have \(r.count) values, the anchor needs \(c.numLayers) x \(C)")
        }
        guard layers.allSatisfy({ (0..<c.numLayers).contains($0) }), experts.allSatisfy({ $0.layers == layers }) else {
            throw TributaryError("model.assembly", "the experts do not cover the same layers of the anchor")
        }
        return try assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor, layers: layers)] + experts,
                            routerRows: ([anchorRows] + rows).map { RouterRows.select($0, layers: layers, hidden: C) }, topK: topK)
    }

    /// The router rows of every expert in an MoE model, [E][S * C] over its S expert layers.
    public static func routerRows(of model: Model) -> [[Float]] {
        let c = model.config, C = c.hiddenSize
        return (0..<c.numExperts).map { e in
            c.moeLayers.flatMap { model.parameters.slice(model.layout.layers[$0].router + e * C, C) }
        }
    }

    /// Copies the MLP of every layer that is dense in both models.
    static func copyDenseFFN(from src: Model, to dst: Model) {
        let C = src.config.hiddenSize, F = src.config.intermediateSize
        let s = src.parameters.pointer, d = dst.parameters.pointer
        for (a, b) in zip(src.layout.layers, dst.layout.layers) where !a.isMoE && !b.isMoE {
            (d + b.w13).update(from: s + a.w13, count: 2 * F * C)
            (d + b.w2).update(from: s + a.w2, count: C * F)
        }
    }

    /// A dense model with the shared weights and dense MLPs of `model` and `ffn` in its expert layers.
    public static func dense(sharing model: Model, ffn: ExpertWeights) -> Model {
        let dense = Model(config: model.config.dense, tokenizer: model.tokenizer)
        copySharedWeights(from: model, to: dense)
        copyDenseFFN(from: model, to: dense)
        for (i, l) in ffn.layers.enumerated() {
            let d = dense.layout.layers[l]
            ffn.write(index: i, into: dense, w13: d.w13, w2: d.w2)
        }
        return dense
    }

    /// The dense anchor inside a combined model: its shared weights with expert 0 as the MLP. Every
    /// Tributary release keeps the anchor's FFN as expert 0, so queries can be embedded exactly as the
    /// owners embedded their data.
    public static func anchor(of model: Model) -> Model {
        guard model.config.isMoE else { return model }
        return dense(sharing: model, ffn: ExpertWeights(expert: 0, of: model))
    }

    /// Only experts `keep` (expert 0 first), each with its router rows: a release restricted to
    /// [0, e] is owner e's 2-expert model.
    public static func restricted(_ model: Model, to keep: [Int]) throws -> Model {
        let rows = routerRows(of: model)
        guard keep.first == 0, keep.allSatisfy({ (0..<model.config.numExperts).contains($0) }) else {
            throw TributaryError("model.assembly", "experts \(keep) are not the anchor's expert 0 and others of \(model.config.numExperts)")
        }
        return try assemble(anchor: anchor(of: model), experts: keep.map { ExpertWeights(expert: $0, of: model) },
                            routerRows: keep.map { rows[$0] }, topK: min(model.config.expertsPerToken, keep.count))
    }

    /// The same experts and router rows with another `num_experts_per_tok`.
    public static func withTopK(_ model: Model, _ k: Int) throws -> Model {
        let experts = (0..<model.config.numExperts).map { ExpertWeights(expert: $0, of: model) }
        return try assemble(anchor: anchor(of: model), experts: experts, routerRows: routerRows(of: model), topK: k)
    }
}

/// Router rows are kept for every anchor layer, [L * C], wherever the protocol stores them (routing
/// signatures, the anchor's routing file); a model with experts in some layers uses those layers' rows.
public enum RouterRows {
    /// The rows of `layers`, [layers.count * C].
    public static func select(_ rows: [Float], layers: [Int], hidden C: Int) -> [Float] {
        layers.flatMap { rows[$0 * C..<($0 + 1) * C] }
    }

    /// `rows` with the rows of `layers` replaced by `selected` ([layers.count * C]).
    public static func replacing(_ rows: [Float], layers: [Int], with selected: [Float], hidden C: Int) -> [Float] {
        var out = rows
        for (i, l) in layers.enumerated() { out.replaceSubrange(l * C..<(l + 1) * C, with: selected[i * C..<(i + 1) * C]) }
        return out
    }
}
