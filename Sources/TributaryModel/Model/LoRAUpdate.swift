import TributaryCore

/// A LoRA expert's factors, per expert layer and target: what an owner uploads instead of the full
/// expert, and what a release materialises (bit for bit on any CPU) onto the anchor's FFN.
public struct LoRAFactors: Sendable, Equatable {
    public let shape: LoRAParameters
    /// The anchor layers of the expert, ascending.
    public let layers: [Int]
    /// [layer index][index in shape.targets]: A [r, in] and B [out, r], row-major.
    public var a: [[[Float]]], b: [[[Float]]]

    public init(shape: LoRAParameters, layers: [Int], a: [[[Float]]], b: [[[Float]]]) {
        self.shape = shape
        self.layers = layers
        self.a = a
        self.b = b
    }

    /// The factors of `model.config.lora` in every expert layer of `model`.
    public init(of model: Model) {
        let lora = model.config.lora!, layers = model.config.moeLayers
        let all = LoRAShape.Target.allCases
        self.init(shape: lora.parameters, layers: layers,
                  a: layers.map { l in lora.targets.map { model.parameters.slice(model.layout.layers[l].loraA[all.firstIndex(of: $0)!], lora.rank * $0.shape(model.config).in) } },
                  b: layers.map { l in lora.targets.map { model.parameters.slice(model.layout.layers[l].loraB[all.firstIndex(of: $0)!], $0.shape(model.config).out * lora.rank) } })
    }

    /// Whether every factor has its shape for a model of `c` (and the layers are layers of it).
    public func fits(_ c: ModelConfig) -> Bool {
        let r = shape.rank
        return !layers.isEmpty && ModelFiles.isExpertLayerSet(layers, numLayers: c.numLayers)
            && a.count == layers.count && b.count == layers.count
            && zip(a, b).allSatisfy { la, lb in
                la.count == shape.targets.count && lb.count == shape.targets.count
                    && zip(shape.targets, zip(la, lb)).allSatisfy { t, f in f.0.count == r * t.shape(c).in && f.1.count == t.shape(c).out * r }
            }
    }

    /// The expert as a release holds it: `base` (the anchor's FFN over the same layers) plus each
    /// update, by `LoRAArithmetic.materialise` (the same bits on every machine).
    public func materialised(onto base: ExpertWeights, config c: ModelConfig) throws -> ExpertWeights {
        guard fits(c), base.layers == layers, base.fits(c) else {
            throw TributaryError("model.shape_mismatch", "the LoRA factors (layers \(layers), \(shape)) do not fit the anchor's FFN over layers \(base.layers)")
        }
        var out = base
        for (i, _) in layers.enumerated() {
            for (j, t) in shape.targets.enumerated() {
                let s = t.shape(c)
                func apply(_ w: inout [Float]) {
                    w = LoRAArithmetic.materialised(w, a: a[i][j], b: b[i][j], rank: shape.rank, oc: s.out, ic: s.in, scale: shape.scale)
                }
                switch t {
                case .gate: apply(&out.w1[i])
                case .up: apply(&out.w3[i])
                case .down: apply(&out.w2[i])
                }
            }
        }
        return out
    }

    /// Trained Floats: what the upload carries instead of 3·F·C per layer.
    public var parameterCount: Int { a.joined().reduce(0) { $0 + $1.count } + b.joined().reduce(0) { $0 + $1.count } }
}

extension Model {
    /// This model with `lora` added: every tensor copied, A drawn uniform in ±1/√in (PEFT's default,
    /// kaiming-uniform with a = √5) from `seed`, B zero, so the updated expert starts as the anchor's FFN.
    public func withLoRA(_ lora: LoRAShape, seed: UInt64) throws -> Model {
        var c = config
        c.lora = lora
        try c.validate()
        let model = Model(config: c, tokenizer: tokenizer)
        model.parameters.pointer.update(from: parameters.pointer, count: layout.count)
        var rng = RNG(seed: seed ^ 0x4C6F_5241)
        let all = LoRAShape.Target.allCases
        for l in c.moeLayers {
            for t in lora.targets {
                let i = all.firstIndex(of: t)!, s = t.shape(c), bound = 1 / Float(s.in).squareRoot()
                let a = model.pointer(model.layout.layers[l].loraA[i]), b = model.pointer(model.layout.layers[l].loraB[i])
                for k in 0..<(lora.rank * s.in) { a[k] = (2 * rng.uniform() - 1) * bound }
                b.update(repeating: 0, count: s.out * lora.rank)
            }
        }
        model.materialiseLoRA()
        return model
    }

    /// The same model without its LoRA factors (the updated expert stays materialised): what is saved
    /// and evaluated as a standard Mixtral model.
    public func withoutLoRA() -> Model {
        guard config.lora != nil else { return self }
        var c = config
        c.lora = nil
        let model = Model(config: c, tokenizer: tokenizer)
        model.parameters.pointer.update(from: parameters.pointer, count: model.layout.count)
        return model
    }

    /// Writes expert `config.lora.expert` as the anchor's FFN (expert 0) plus the update, by sgemm
    /// (training's rounding; a release uses `LoRAFactors.materialised`): projections the update does not
    /// target are copies of the anchor's, whatever the buffer held.
    public func materialiseLoRA() {
        guard let lora = config.lora else { return }
        let C = config.hiddenSize, F = config.intermediateSize
        for l in config.moeLayers {
            let ly = layout.layers[l]
            for (i, t) in LoRAShape.Target.allCases.enumerated() {
                let s = t.shape(config)
                // gate: rows 0..<F of w13 [2F, C]; up: rows F..<2F; down: w2 [C, F].
                let from = t == .up ? F * C : 0
                let (dst, src) = t == .down ? (ly.expertW2[lora.expert], ly.expertW2[0]) : (ly.expertW13[lora.expert] + from, ly.expertW13[0] + from)
                if ly.loraA[i] < 0 {
                    pointer(dst).update(from: pointer(src), count: s.out * s.in)
                } else {
                    LoRA.materialise(w: pointer(dst), ldw: s.in, w0: pointer(src), ldw0: s.in, a: pointer(ly.loraA[i]), b: pointer(ly.loraB[i]),
                                     rank: lora.rank, oc: s.out, ic: s.in, scale: lora.scale)
                }
            }
        }
    }
}
