import Foundation
import TributaryCore
import TributaryModel

/// An expert trained outside Tributary (PyTorch, PEFT, accelerate, ...) read for a contribution, after
/// checking it is what the FlexOlmo recipe produces: nothing the recipe freezes differs from the anchor.
///
/// Two forms are read:
/// - a FlexOlmo 2-expert checkpoint, as transformers' `MixtralForCausalLM.save_pretrained` writes it:
///   expert 0 of every layer the anchor's MLP, expert 1 trained, router `[2, H]` with row 0 the
///   anchor's router row (frozen) and row 1 the expert's (trained); embeddings, attention, norms and
///   the head the anchor's. F32, BF16 or F16: a frozen tensor must be the anchor's values rounded to
///   its dtype (round to nearest even), bit for bit.
/// - a PEFT LoRA adapter directory (`PEFTAdapter`), with its router rows when it carries them.
public struct ExternalExpert: Sendable {
    public enum Weights: Sendable {
        case full(ExpertWeights)
        case lora(LoRAFactors)
    }

    public let weights: Weights
    /// The layers the expert covers, ascending.
    public let layers: [Int]
    /// The expert's router row in each of `layers`, [layers.count * H]; nil when the source has none
    /// (an adapter without `router_rows.safetensors`: the signature's rows are used).
    public let routerRows: [Float]?
    /// What was read, for messages and the report: e.g. "Mixtral checkpoint (BF16), layers 28-29".
    public let description: String

    /// The expert's router rows over every anchor layer [L * H]: its own in `layers`, `base`'s elsewhere.
    public func routerRows(over base: [Float], hidden C: Int) -> [Float] {
        guard let routerRows else { return base }
        var rows = base
        for (i, l) in layers.enumerated() { rows.replaceSubrange(l * C..<(l + 1) * C, with: routerRows[i * C..<(i + 1) * C]) }
        return rows
    }

    /// The expert as full weights (a LoRA expert materialised onto the anchor's FFN, as a release holds it).
    public func materialised(anchor: Model) throws -> ExpertWeights {
        switch weights {
        case let .full(w): return w
        case let .lora(f): return try f.materialised(onto: ExpertWeights(denseFFNOf: anchor, layers: f.layers), config: anchor.config)
        }
    }

    // MARK: FlexOlmo checkpoints

    /// Reads and checks a FlexOlmo 2-expert checkpoint directory against `anchor` (its model and router
    /// rows [L * H]). The expert's layers are those where expert 1 differs from expert 0; `allowed`,
    /// when given, are the layers the expert may cover (the server's policy): a trained layer outside
    /// them is refused, and the expert covers exactly `allowed` (the anchor's MLP where it did not change).
    public static func readCheckpoint(_ dir: String, anchor: Model, anchorRows: [Float], allowed: [Int]?) throws -> ExternalExpert {
        let a = anchor.config, C = a.hiddenSize, F = a.intermediateSize
        let config: ModelConfig
        do { config = try ModelDirectory.loadConfig(dir) } catch let e as TributaryError {
            throw TributaryError("contribute.invalid_checkpoint", e.message)
        }
        guard config.isMoE, config.numExperts == 2 else {
            throw TributaryError("contribute.invalid_checkpoint", "\(dir) is not a FlexOlmo 2-expert checkpoint: config.json describes \(config.isMoE ? "\(config.numExperts) experts" : "a dense model") (model_type mixtral, num_local_experts 2)")
        }
        if let diff = differences(config.dense, a.dense) {
            throw TributaryError("contribute.invalid_checkpoint", "\(dir) was not made from this anchor: config.json differs in \(diff)")
        }
        if let allowed, let bad = allowed.first(where: { !(0..<a.numLayers).contains($0) }) {
            throw TributaryError("contribute.invalid_checkpoint", "layer \(bad) is not a layer of the anchor (0-\(a.numLayers - 1))")
        }
        let ckpt = try HuggingFaceWeights(directory: dir)
        let p = anchor.parameters.pointer
        var expected = Set<String>()

        /// `name` (its first `prefix` elements when given) must be `reference` rounded to its dtype.
        func requireFrozen(_ name: String, shape: [Int], _ reference: UnsafePointer<Float>, _ what: String, prefix: Int? = nil) throws {
            expected.insert(name)
            if let m = try ckpt.firstMismatch(name, shape: shape, reference: reference, prefix: prefix) {
                let dtype = ckpt.dtype(name)?.rawValue ?? "?"
                throw TributaryError("contribute.frozen_mismatch", "\(dir): \(name) (\(what), frozen by the recipe) differs from the anchor's\(dtype == "F32" ? "" : " rounded to \(dtype)") at element \(m.index): stored 0x\(String(m.stored, radix: 16)), expected 0x\(String(m.expected, radix: 16))")
            }
        }

        // Everything but the MLPs: the anchor's, under the same names.
        var mlp = [[ParameterLayout.Tensor?]](repeating: [nil, nil, nil], count: a.numLayers)
        for t in ParameterLayout(a).tensors {
            if let (l, part) = TensorNames.mlpPart(of: t.name) { mlp[l][part] = t; continue }
            try requireFrozen(t.name, shape: t.shape, p + t.offset, "shared with the anchor")
        }
        // A tied head that a checkpoint saves anyway must be the embeddings.
        if a.tieEmbeddings, ckpt.names.contains(TensorNames.lmHead) {
            try requireFrozen(TensorNames.lmHead, shape: [a.vocabSize, C], p + anchor.layout.embed, "the tied output head")
        }

        var trained = [Int]()
        var experts = [Int: (w1: [Float], w3: [Float], w2: [Float], row: [Float])]()
        for l in 0..<a.numLayers {
            // Parts in the anchor layout's order: gate (w1), up (w3), down (w2).
            var own = [[Float]](), changed = false
            for (part, t) in mlp[l].map({ $0! }).enumerated() {
                let frozen = TensorNames.expert(part: part, layer: l, expert: 0)
                try requireFrozen(frozen, shape: t.shape, p + t.offset, "expert 0, the anchor's MLP")
                let name = TensorNames.expert(part: part, layer: l, expert: 1)
                expected.insert(name)
                let values = try ckpt.floats(name, shape: t.shape)
                guard values.allSatisfy(\.isFinite) else {
                    throw TributaryError("contribute.invalid_checkpoint", "\(dir): \(name) holds a value that is not finite")
                }
                // Trained where expert 1 is not expert 0 as stored (in BF16 both are the anchor rounded).
                if !changed { changed = try values != ckpt.floats(frozen, shape: t.shape) }
                own.append(values)
            }
            let router = TensorNames.router(l)
            expected.insert(router)
            let rows = try ckpt.floats(router, shape: [2, C])
            guard rows.allSatisfy(\.isFinite) else {
                throw TributaryError("contribute.invalid_checkpoint", "\(dir): \(router) holds a value that is not finite")
            }
            if changed || allowed?.contains(l) == true {
                // The frozen router row matters only where the experts differ (elsewhere any routing
                // gives the anchor's MLP, and save_pretrained of an untouched layer may hold anything).
                if changed {
                    trained.append(l)
                    try anchorRows.withUnsafeBufferPointer { r in
                        try requireFrozen(router, shape: [2, C], r.baseAddress! + l * C, "row 0, the anchor's router row", prefix: C)
                    }
                }
                experts[l] = (own[0], own[1], own[2], Array(rows[C..<2 * C]))
            }
        }
        for name in ckpt.names.sorted() where !expected.contains(name) {
            throw TributaryError("contribute.invalid_checkpoint", "\(dir): tensor \(name) is not part of a FlexOlmo 2-expert checkpoint of this anchor")
        }
        if let allowed {
            let outside = trained.filter { !allowed.contains($0) }
            guard outside.isEmpty else {
                throw TributaryError("contribute.expert_outside_layers", "\(dir): the expert changed layers \(ContributionPolicy.describe(outside)), outside the layers allowed (\(ContributionPolicy.describe(allowed)))")
            }
        }
        let layers = (allowed ?? trained).sorted()
        guard !trained.isEmpty else {
            throw TributaryError("contribute.no_expert", "\(dir): expert 1 equals the anchor's MLP in every layer; nothing was trained")
        }
        let w = ExpertWeights(layers: layers, w1: layers.map { experts[$0]!.w1 }, w2: layers.map { experts[$0]!.w2 }, w3: layers.map { experts[$0]!.w3 })
        precondition(w.w1.allSatisfy { $0.count == F * C })
        let dtypes = Set(ckpt.names.compactMap { ckpt.dtype($0)?.rawValue }).sorted().joined(separator: "+")
        return ExternalExpert(weights: .full(w), layers: layers, routerRows: layers.flatMap { experts[$0]!.row },
                              description: "FlexOlmo checkpoint (\(dtypes)), expert in layers \(ContributionPolicy.describe(layers))")
    }

    /// The config fields in which two dense configs differ, nil when they are equal.
    static func differences(_ x: ModelConfig, _ y: ModelConfig) -> String? {
        let fields: [(String, Bool)] = [
            ("vocab_size", x.vocabSize == y.vocabSize), ("hidden_size", x.hiddenSize == y.hiddenSize),
            ("num_hidden_layers", x.numLayers == y.numLayers), ("num_attention_heads", x.numHeads == y.numHeads),
            ("num_key_value_heads", x.numKVHeads == y.numKVHeads), ("head_dim", x.headDim == y.headDim),
            ("tie_word_embeddings", x.tieEmbeddings == y.tieEmbeddings), ("intermediate_size", x.intermediateSize == y.intermediateSize),
            ("max_position_embeddings", x.contextLength == y.contextLength), ("rope_theta", x.ropeTheta == y.ropeTheta),
            ("rms_norm_eps", x.rmsNormEps == y.rmsNormEps), ("bos_token_id", x.bosTokenID == y.bosTokenID),
            ("eos_token_id", x.eosTokenID == y.eosTokenID),
        ]
        let differ = fields.filter { !$0.1 }.map(\.0)
        return differ.isEmpty ? nil : differ.joined(separator: ", ")
    }

    // MARK: PEFT adapters

    /// Reads a PEFT LoRA adapter directory for `anchor`; its layers must be within `allowed` when given.
    public static func readAdapter(_ dir: String, anchor: Model, allowed: [Int]?) throws -> ExternalExpert {
        let (factors, rows) = try PEFTAdapter.read(dir, config: anchor.config)
        if let allowed {
            let outside = factors.layers.filter { !allowed.contains($0) }
            guard outside.isEmpty else {
                throw TributaryError("contribute.expert_outside_layers", "\(dir): the adapter changes layers \(ContributionPolicy.describe(outside)), outside the layers allowed (\(ContributionPolicy.describe(allowed)))")
            }
        }
        let C = anchor.config.hiddenSize
        return ExternalExpert(weights: .lora(factors), layers: factors.layers,
                              routerRows: rows.map { r in factors.layers.flatMap { Array(r[$0 * C..<($0 + 1) * C]) } },
                              description: "PEFT LoRA adapter (\(factors.shape)), layers \(ContributionPolicy.describe(factors.layers))"
                                  + (rows == nil ? ", no router rows (the signature's are used)" : ""))
    }
}
