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

    /// The name an anchor tensor has in a release: every Tributary release keeps the anchor's FFN as
    /// expert 0, so a dense MLP tensor becomes expert 0's, and every other tensor keeps its name.
    public static func expertZeroName(ofAnchorTensor name: String, layers: Int) -> String {
        for l in 0..<layers {
            switch name {
            case mlpGate(l): return expertW1(l, 0)
            case mlpUp(l): return expertW3(l, 0)
            case mlpDown(l): return expertW2(l, 0)
            default: continue
            }
        }
        return name
    }

    // MARK: expert.safetensors (§3.1): per layer w1 [I, H], w2 [H, I], w3 [I, H]

    public static func bundleW1(_ l: Int) -> String { "layers.\(l).w1.weight" }
    public static func bundleW2(_ l: Int) -> String { "layers.\(l).w2.weight" }
    public static func bundleW3(_ l: Int) -> String { "layers.\(l).w3.weight" }

    // MARK: routing.safetensors (§3.2), also the anchor's routing file

    public static let centroids = "centroids"
    public static let centroidCounts = "centroid_counts"
    public static let routerRows = "router_rows"
    /// The anchor's mean public sequence embedding [H], subtracted from every embedding.
    public static let embeddingCenter = "embedding_center"

    // MARK: routing-index.safetensors (§6.5)

    public static func indexCentroids(_ e: Int) -> String { "experts.\(e).centroids" }
    public static func indexCounts(_ e: Int) -> String { "experts.\(e).counts" }
}
