/// Every tensor name Tributary reads or writes, in one place: the model code, the server and the
/// auditor all use these, so a release the server builds is checked against the same names.
///
/// Models use Hugging Face transformers' names (LlamaForCausalLM dense, MixtralForCausalLM MoE, as
/// mergekit-moe exports them: w1 = gate_proj, w3 = up_proj, w2 = down_proj). Protocol files
/// (protocol/SPEC.md §3) use their own short names.
public enum TensorNames {
    // MARK: Hugging Face Llama / Mixtral

    public static let embedTokens = "model.embed_tokens.weight"
    public static let finalNorm = "model.norm.weight"
    public static let lmHead = "lm_head.weight"

    static func layer(_ l: Int) -> String { "model.layers.\(l)." }
    public static func inputNorm(_ l: Int) -> String { layer(l) + "input_layernorm.weight" }
    public static func qProj(_ l: Int) -> String { layer(l) + "self_attn.q_proj.weight" }
    public static func kProj(_ l: Int) -> String { layer(l) + "self_attn.k_proj.weight" }
    public static func vProj(_ l: Int) -> String { layer(l) + "self_attn.v_proj.weight" }
    public static func oProj(_ l: Int) -> String { layer(l) + "self_attn.o_proj.weight" }
    public static func postAttentionNorm(_ l: Int) -> String { layer(l) + "post_attention_layernorm.weight" }

    /// A dense layer's SwiGLU MLP: gate (w1), up (w3), down (w2).
    public static func mlpGate(_ l: Int) -> String { layer(l) + "mlp.gate_proj.weight" }
    public static func mlpUp(_ l: Int) -> String { layer(l) + "mlp.up_proj.weight" }
    public static func mlpDown(_ l: Int) -> String { layer(l) + "mlp.down_proj.weight" }

    /// A Mixtral layer's router [E, hidden] and expert e's SwiGLU weights.
    public static func router(_ l: Int) -> String { layer(l) + "block_sparse_moe.gate.weight" }
    public static func expertW1(_ l: Int, _ e: Int) -> String { layer(l) + "block_sparse_moe.experts.\(e).w1.weight" }
    public static func expertW2(_ l: Int, _ e: Int) -> String { layer(l) + "block_sparse_moe.experts.\(e).w2.weight" }
    public static func expertW3(_ l: Int, _ e: Int) -> String { layer(l) + "block_sparse_moe.experts.\(e).w3.weight" }

    /// A LoRA factor of expert e's projection `w` ("w1", "w2" or "w3") in a training model: `factor`
    /// "A" [r, in] or "B" [out, r] (PEFT's lora_A / lora_B).
    public static func expertLoRA(_ l: Int, _ e: Int, _ w: String, _ factor: String) -> String {
        layer(l) + "block_sparse_moe.experts.\(e).\(w).lora_\(factor).weight"
    }

    /// The MLP part of a dense layer's tensor name: (layer, 0 gate / 1 up / 2 down), nil for any other name.
    public static func mlpPart(of name: String) -> (layer: Int, part: Int)? {
        guard name.hasPrefix("model.layers."), name.contains(".mlp.") else { return nil }
        let digits = name.dropFirst("model.layers.".count).prefix { $0 != "." }
        guard let l = Int(digits), l >= 0, l < 1 << 16, String(l) == digits else { return nil }
        return [mlpGate(l), mlpUp(l), mlpDown(l)].firstIndex(of: name).map { (l, $0) }
    }

    /// The Mixtral expert tensor holding MLP `part` (0 gate = w1, 1 up = w3, 2 down = w2).
    public static func expert(part: Int, layer l: Int, expert e: Int) -> String {
        [expertW1, expertW3, expertW2][part](l, e)
    }

    /// The names an anchor tensor has in a release of `experts` experts with experts in `expertLayers`:
    /// every Tributary release keeps the anchor's FFN as expert 0 of an expert layer; a layer without
    /// experts of its own holds the anchor's MLP as every expert (transformers' Mixtral has experts in
    /// every layer); every other tensor keeps its name.
    public static func releaseNames(ofAnchorTensor name: String, expertLayers: Set<Int>, experts: Int) -> [String] {
        guard let (l, part) = mlpPart(of: name) else { return [name] }
        return expertLayers.contains(l) ? [expert(part: part, layer: l, expert: 0)] : (0..<experts).map { expert(part: part, layer: l, expert: $0) }
    }

    // MARK: expert.safetensors (§3.1): per layer w1 [I, H], w2 [H, I], w3 [I, H]

    public static func bundleW1(_ l: Int) -> String { "layers.\(l).w1.weight" }
    public static func bundleW2(_ l: Int) -> String { "layers.\(l).w2.weight" }
    public static func bundleW3(_ l: Int) -> String { "layers.\(l).w3.weight" }

    // MARK: expert.safetensors of a LoRA expert (§3.1, layout "lora-v1"): per layer and projection w
    // ("w1", "w2", "w3") lora_A [r, in] and lora_B [out, r]

    public static func bundleLoRA(_ l: Int, _ w: String, _ factor: String) -> String { "layers.\(l).\(w).lora_\(factor).weight" }

    // MARK: routing.safetensors (§3.2), also the anchor's routing file

    public static let centroids = "centroids"
    public static let centroidCounts = "centroid_counts"
    public static let routerRows = "router_rows"
    /// Anchors before signature spaces: the mean public final state [H], subtracted from every embedding.
    public static let embeddingCenter = "embedding_center"
    /// The anchor's signature space (§6.1): the public mean state at its layer [H] and the projection [d, H].
    public static let signatureCenter = "signature_center"
    public static let signatureProjection = "signature_projection"
    /// Metadata of a file holding a signature space: its `SignatureSpaceParameters` as JSON.
    public static let signatureSpaceMetadataKey = "tributary.signature_space"

    // MARK: routing-index.safetensors (§6.5)

    public static func indexCentroids(_ e: Int) -> String { "experts.\(e).centroids" }
    public static func indexCounts(_ e: Int) -> String { "experts.\(e).counts" }
}
