import TributaryCore

/// One contributed expert: per layer the SwiGLU weights w1 [F, C], w2 [C, F], w3 [F, C].
public struct ExpertWeights: Sendable {
    public var w1: [[Float]], w2: [[Float]], w3: [[Float]]
    public init(w1: [[Float]], w2: [[Float]], w3: [[Float]]) {
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The anchor's dense FFN of every layer, as an expert.
    public init(denseFFNOf model: Model) {
        precondition(!model.config.isMoE)
        let c = model.config, C = c.hiddenSize, F = c.intermediateSize
        w1 = model.layout.layers.map { model.parameters.slice($0.w13, F * C) }
        w3 = model.layout.layers.map { model.parameters.slice($0.w13 + F * C, F * C) }
        w2 = model.layout.layers.map { model.parameters.slice($0.w2, C * F) }
    }

    /// Expert `e` of an MoE model.
    public init(expert e: Int, of model: Model) {
        let c = model.config, C = c.hiddenSize, F = c.intermediateSize
        w1 = model.layout.layers.map { model.parameters.slice($0.expertW13[e], F * C) }
        w3 = model.layout.layers.map { model.parameters.slice($0.expertW13[e] + F * C, F * C) }
        w2 = model.layout.layers.map { model.parameters.slice($0.expertW2[e], C * F) }
    }

    /// Reads `expert.safetensors` (protocol/SPEC.md §3.1), checking it fits `config`.
    public init(file: SafetensorsFile, config: ModelConfig) throws {
        let C = config.hiddenSize, F = config.intermediateSize
        var w1 = [[Float]](), w2 = [[Float]](), w3 = [[Float]]()
        for l in 0..<config.numLayers {
            for (name, shape) in [(BundleLayout.w1(l), [F, C]), (BundleLayout.w2(l), [C, F]), (BundleLayout.w3(l), [F, C])] {
                let info = try file.info(name)
                guard info.shape == shape else {
                    throw TributaryError("model.shape_mismatch", "\(name) has shape \(info.shape), the anchor needs \(shape)")
                }
            }
            w1.append(try file.floats(BundleLayout.w1(l)))
            w2.append(try file.floats(BundleLayout.w2(l)))
            w3.append(try file.floats(BundleLayout.w3(l)))
        }
        guard file.tensors.count == 3 * config.numLayers else {
            throw TributaryError("model.shape_mismatch", "expert has \(file.tensors.count) tensors, the anchor's \(config.numLayers) layers need \(3 * config.numLayers)")
        }
        self.init(w1: w1, w2: w2, w3: w3)
    }

    /// Adds the expert's tensors under the bundle names.
    public func add(to writer: inout SafetensorsWriter, config: ModelConfig, dtype: SafetensorsWriter.OutputDType = .f32) {
        let C = config.hiddenSize, F = config.intermediateSize
        for l in 0..<w1.count {
            writer.add(BundleLayout.w1(l), shape: [F, C], values: w1[l], dtype: dtype)
            writer.add(BundleLayout.w2(l), shape: [C, F], values: w2[l], dtype: dtype)
            writer.add(BundleLayout.w3(l), shape: [F, C], values: w3[l], dtype: dtype)
        }
    }
}

/// Builds Mixtral models from a dense anchor: the anchor's shared weights (embeddings, attention,
/// norms, lm_head) and, in every layer, experts [anchor FFN, contributed experts...] with router rows
/// stacked in the same order (FlexOlmo's merge).
public enum ExpertAssembly {
    /// `routerRows[e]` is expert e's [L, C] rows (row-major). Expert 0 must be the anchor's own FFN.
    public static func assemble(anchor: Model, experts: [ExpertWeights], routerRows: [[Float]], topK: Int) throws -> Model {
        let a = anchor.config
        guard !a.isMoE else { throw TributaryError("model.not_dense", "the anchor must be a dense model") }
        guard experts.count == routerRows.count, !experts.isEmpty else {
            throw TributaryError("model.assembly", "\(experts.count) experts but \(routerRows.count) router rows")
        }
        let C = a.hiddenSize, F = a.intermediateSize, L = a.numLayers
        let config = a.withExperts(experts.count, topK: min(topK, experts.count))
        let model = Model(config: config)
        let dst = model.parameters.pointer, src = anchor.parameters.pointer
        func copy(_ from: Int, _ to: Int, _ n: Int) { (dst + to).update(from: src + from, count: n) }
        copy(anchor.layout.embed, model.layout.embed, a.vocabSize * C)
        copy(anchor.layout.finalNorm, model.layout.finalNorm, C)
        copy(anchor.layout.lmHead, model.layout.lmHead, a.vocabSize * C)
        for l in 0..<L {
            let s = anchor.layout.layers[l], d = model.layout.layers[l]
            copy(s.attnNorm, d.attnNorm, C)
            copy(s.qkv, d.qkv, 3 * C * C)
            copy(s.o, d.o, C * C)
            copy(s.ffnNorm, d.ffnNorm, C)
            for (e, ex) in experts.enumerated() {
                guard ex.w1.count == L, ex.w1[l].count == F * C, ex.w3[l].count == F * C, ex.w2[l].count == C * F,
                      routerRows[e].count == L * C else {
                    throw TributaryError("model.shape_mismatch", "expert \(e) does not fit the anchor (\(L) layers, hidden \(C), intermediate \(F))")
                }
                ex.w1[l].withUnsafeBufferPointer { (dst + d.expertW13[e]).update(from: $0.baseAddress!, count: F * C) }
                ex.w3[l].withUnsafeBufferPointer { (dst + d.expertW13[e] + F * C).update(from: $0.baseAddress!, count: F * C) }
                ex.w2[l].withUnsafeBufferPointer { (dst + d.expertW2[e]).update(from: $0.baseAddress!, count: C * F) }
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
}

extension ExpertAssembly {
    /// The dense anchor inside a combined model: its shared weights with expert 0 as the MLP. Every
    /// Tributary release keeps the anchor's FFN as expert 0, so queries can be embedded exactly as the
    /// owners embedded their data.
    public static func anchor(of model: Model) -> Model {
        guard model.config.isMoE else { return model }
        let c = model.config.dense, C = c.hiddenSize, F = c.intermediateSize
        let dense = Model(config: c)
        let dst = dense.parameters.pointer, src = model.parameters.pointer
        func copy(_ from: Int, _ to: Int, _ n: Int) { (dst + to).update(from: src + from, count: n) }
        copy(model.layout.embed, dense.layout.embed, c.vocabSize * C)
        copy(model.layout.finalNorm, dense.layout.finalNorm, C)
        copy(model.layout.lmHead, dense.layout.lmHead, c.vocabSize * C)
        for l in 0..<c.numLayers {
            let s = model.layout.layers[l], d = dense.layout.layers[l]
            copy(s.attnNorm, d.attnNorm, C); copy(s.qkv, d.qkv, 3 * C * C); copy(s.o, d.o, C * C); copy(s.ffnNorm, d.ffnNorm, C)
            copy(s.expertW13[0], d.w13, 2 * F * C)
            copy(s.expertW2[0], d.w2, C * F)
        }
        return dense
    }
}

extension ExpertAssembly {
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
        let soup = ExpertWeights(w1: mean(\.w1), w2: mean(\.w2), w3: mean(\.w3))
        let dense = anchor(of: model)
        let c = dense.config, C = c.hiddenSize, F = c.intermediateSize
        let dst = dense.parameters.pointer
        for l in 0..<c.numLayers {
            let d = dense.layout.layers[l]
            soup.w1[l].withUnsafeBufferPointer { (dst + d.w13).update(from: $0.baseAddress!, count: F * C) }
            soup.w3[l].withUnsafeBufferPointer { (dst + d.w13 + F * C).update(from: $0.baseAddress!, count: F * C) }
            soup.w2[l].withUnsafeBufferPointer { (dst + d.w2).update(from: $0.baseAddress!, count: C * F) }
        }
        return dense
    }
}
