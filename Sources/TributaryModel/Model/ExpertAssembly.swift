import TributaryCore

/// One feed-forward expert: per layer the SwiGLU weights w1 [F, C], w2 [C, F], w3 [F, C].
public struct ExpertWeights: Sendable {
    public var w1: [[Float]], w2: [[Float]], w3: [[Float]]
    public init(w1: [[Float]], w2: [[Float]], w3: [[Float]]) {
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The dense FFN of every layer of `model`, as an expert.
    public init(denseFFNOf model: Model) {
        precondition(!model.config.isMoE)
        self.init(model, w13: model.layout.layers.map(\.w13), w2: model.layout.layers.map(\.w2))
    }

    /// Expert `e` of an MoE model.
    public init(expert e: Int, of model: Model) {
        self.init(model, w13: model.layout.layers.map { $0.expertW13[e] }, w2: model.layout.layers.map { $0.expertW2[e] })
    }

    private init(_ model: Model, w13: [Int], w2 w2Offsets: [Int]) {
        let c = model.config, C = c.hiddenSize, F = c.intermediateSize
        w1 = w13.map { model.parameters.slice($0, F * C) }
        w3 = w13.map { model.parameters.slice($0 + F * C, F * C) }
        w2 = w2Offsets.map { model.parameters.slice($0, C * F) }
    }

    /// Writes layer l's weights into `model` at w13 [2F, C] (w1 then w3) and w2 [C, F].
    func write(layer l: Int, into model: Model, w13: Int, w2 w2Offset: Int) {
        let C = model.config.hiddenSize, F = model.config.intermediateSize, dst = model.parameters.pointer
        w1[l].withUnsafeBufferPointer { (dst + w13).update(from: $0.baseAddress!, count: F * C) }
        w3[l].withUnsafeBufferPointer { (dst + w13 + F * C).update(from: $0.baseAddress!, count: F * C) }
        w2[l].withUnsafeBufferPointer { (dst + w2Offset).update(from: $0.baseAddress!, count: C * F) }
    }

    func fits(_ c: ModelConfig) -> Bool {
        let C = c.hiddenSize, F = c.intermediateSize
        return w1.count == c.numLayers && w2.count == c.numLayers && w3.count == c.numLayers
            && w1.allSatisfy { $0.count == F * C } && w3.allSatisfy { $0.count == F * C } && w2.allSatisfy { $0.count == C * F }
    }
}

/// Builds Mixtral models from a dense anchor: the anchor's shared weights (embeddings, attention,
/// norms, lm_head) and, in every layer, experts [anchor FFN, contributed experts...] with router rows
/// stacked in the same order (FlexOlmo's merge).
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
        copy(src.layout.lmHead, dst.layout.lmHead, c.vocabSize * C)
        for (a, b) in zip(src.layout.layers, dst.layout.layers) {
            copy(a.attnNorm, b.attnNorm, C)
            copy(a.qkv, b.qkv, 3 * C * C)
            copy(a.o, b.o, C * C)
            copy(a.ffnNorm, b.ffnNorm, C)
        }
    }

    /// `routerRows[e]` is expert e's [L, C] rows (row-major). Expert 0 must be the anchor's own FFN.
    public static func assemble(anchor: Model, experts: [ExpertWeights], routerRows: [[Float]], topK: Int) throws -> Model {
        let a = anchor.config
        guard !a.isMoE else { throw TributaryError("model.not_dense", "the anchor must be a dense model") }
        guard experts.count == routerRows.count, !experts.isEmpty else {
            throw TributaryError("model.assembly", "\(experts.count) experts but \(routerRows.count) router rows")
        }
        let C = a.hiddenSize, L = a.numLayers
        for (e, ex) in experts.enumerated() where !ex.fits(a) || routerRows[e].count != L * C {
            throw TributaryError("model.shape_mismatch", "expert \(e) does not fit the anchor (\(L) layers, hidden \(C), intermediate \(a.intermediateSize))")
        }
        let model = Model(config: a.withExperts(experts.count, topK: min(topK, experts.count)))
        copySharedWeights(from: anchor, to: model)
        let dst = model.parameters.pointer
        for (l, d) in model.layout.layers.enumerated() {
            for (e, ex) in experts.enumerated() {
                ex.write(layer: l, into: model, w13: d.expertW13[e], w2: d.expertW2[e])
                routerRows[e].withUnsafeBufferPointer { (dst + d.router + e * C).update(from: $0.baseAddress! + l * C, count: C) }
            }
        }
        return model
    }

    /// The router rows of every expert in an MoE model, [E][L * C].
    public static func routerRows(of model: Model) -> [[Float]] {
        let c = model.config, C = c.hiddenSize
        return (0..<c.numExperts).map { e in
            model.layout.layers.flatMap { model.parameters.slice($0.router + e * C, C) }
        }
    }

    /// A dense model with the shared weights of `model` and `ffn` as every layer's MLP.
    static func dense(sharing model: Model, ffn: ExpertWeights) -> Model {
        let dense = Model(config: model.config.dense)
        copySharedWeights(from: model, to: dense)
        for (l, d) in dense.layout.layers.enumerated() { ffn.write(layer: l, into: dense, w13: d.w13, w2: d.w2) }
        return dense
    }

    /// The dense anchor inside a combined model: its shared weights with expert 0 as the MLP. Every
    /// Tributary release keeps the anchor's FFN as expert 0, so queries can be embedded exactly as the
    /// owners embedded their data.
    public static func anchor(of model: Model) -> Model {
        guard model.config.isMoE else { return model }
        return dense(sharing: model, ffn: ExpertWeights(expert: 0, of: model))
    }

    /// The same experts and router rows with another `num_experts_per_tok`.
    public static func withTopK(_ model: Model, _ k: Int) throws -> Model {
        let experts = (0..<model.config.numExperts).map { ExpertWeights(expert: $0, of: model) }
        return try assemble(anchor: anchor(of: model), experts: experts, routerRows: routerRows(of: model), topK: k)
    }

    /// A model soup of an MoE's experts: one FFN whose weights are the uniform average of every
    /// expert's, as a dense model.
    public static func uniformSoup(_ model: Model) -> Model {
        let E = model.config.numExperts
        let experts = (0..<E).map { ExpertWeights(expert: $0, of: model) }
        func mean(_ pick: (ExpertWeights) -> [[Float]]) -> [[Float]] {
            (0..<model.config.numLayers).map { l in
                var acc = [Float](repeating: 0, count: pick(experts[0])[l].count)
                for e in experts { for (i, v) in pick(e)[l].enumerated() { acc[i] += v / Float(E) } }
                return acc
            }
        }
        return dense(sharing: model, ffn: ExpertWeights(w1: mean(\.w1), w2: mean(\.w2), w3: mean(\.w3)))
    }
}
