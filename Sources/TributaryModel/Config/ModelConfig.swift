import Foundation
import TributaryCore

/// The shape of a Llama-style decoder. `numExperts == 0` means a dense SwiGLU MLP in every layer;
/// otherwise the feed-forward block of each layer in `expertLayers` (all layers when nil) is a
/// Mixtral MoE with that many experts, and the other layers keep a dense MLP.
public struct ModelConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    /// Key/value heads (grouped-query attention: each serves numHeads / numKVHeads query heads).
    public var numKVHeads: Int
    public var headDim: Int
    /// The output head is the token embedding (`tie_word_embeddings`): no lm_head tensor of its own.
    public var tieEmbeddings: Bool
    public var intermediateSize: Int
    /// Longest sequence the model is trained on (`max_position_embeddings`).
    public var contextLength: Int
    public var ropeTheta: Float
    public var rmsNormEps: Float
    public var numExperts: Int
    public var expertsPerToken: Int
    /// The layers with an MoE block, ascending; nil: every layer (when numExperts > 0).
    public var expertLayers: [Int]?
    public var bosTokenID: Int
    public var eosTokenID: Int
    /// A low-rank update of one expert, trained in place of its full weights (training only: the
    /// factors follow the model's other tensors, and config.json never carries them).
    public var lora: LoRAShape?

    public init(vocabSize: Int = ByteTokenizer.vocabSize, hiddenSize: Int, numLayers: Int, numHeads: Int,
                numKVHeads: Int? = nil, headDim: Int? = nil, tieEmbeddings: Bool = false,
                intermediateSize: Int, contextLength: Int, ropeTheta: Float = 10000, rmsNormEps: Float = 1e-5,
                numExperts: Int = 0, expertsPerToken: Int = 0, expertLayers: [Int]? = nil,
                bosTokenID: Int = ByteTokenizer.bos, eosTokenID: Int = ByteTokenizer.eos) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads ?? numHeads
        self.headDim = headDim ?? (numHeads > 0 ? hiddenSize / numHeads : 0)
        self.tieEmbeddings = tieEmbeddings
        self.intermediateSize = intermediateSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.rmsNormEps = rmsNormEps
        self.numExperts = numExperts
        self.expertsPerToken = expertsPerToken
        self.expertLayers = numExperts > 0 ? expertLayers : nil
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    public var isMoE: Bool { numExperts > 0 }

    /// The longest window evaluation, embeddings and default training use: the context, capped at
    /// 1024 tokens. A real model's context (SmolLM2: 8192) would make the T×T attention buffers of a
    /// batch several gigabytes; 1024 tokens is already most of the benefit of context for bits per byte.
    public var windowLength: Int { min(contextLength, 1024) }
    /// Width of the query projection (numHeads × headDim) and of each of key and value.
    public var qDim: Int { numHeads * headDim }
    public var kvDim: Int { numKVHeads * headDim }
    /// Width of the fused q | k | v projection.
    public var qkvDim: Int { qDim + 2 * kvDim }

    /// Whether layer l's feed-forward block is an MoE block.
    public func isExpertLayer(_ l: Int) -> Bool { isMoE && (expertLayers.map { $0.contains(l) } ?? true) }
    /// The MoE layers, ascending (every layer when `expertLayers` is nil; none when dense).
    public var moeLayers: [Int] { (0..<numLayers).filter(isExpertLayer) }

    /// The built-in sizes. `small` is the benchmark and demo configuration.
    public static func preset(_ name: String) throws -> ModelConfig {
        switch name {
        case "tiny": return ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 96, contextLength: 64)
        case "small": return ModelConfig(hiddenSize: 128, numLayers: 4, numHeads: 4, intermediateSize: 384, contextLength: 128)
        case "medium": return ModelConfig(hiddenSize: 256, numLayers: 6, numHeads: 8, intermediateSize: 768, contextLength: 256)
        default: throw TributaryError("model.unknown_config", "unknown model config \"\(name)\" (tiny, small, medium)")
        }
    }

    public static let presetNames = ["tiny", "small", "medium"]

    /// The same model with the FFN of `layers` (every layer when nil) turned into an `experts`-expert
    /// MoE routing to `topK` of them.
    public func withExperts(_ experts: Int, topK: Int, layers: [Int]? = nil) -> ModelConfig {
        var c = self
        c.numExperts = experts
        c.expertsPerToken = topK
        c.expertLayers = experts > 0 && layers != nil && layers != Array(0..<numLayers) ? layers : nil
        if let lora, lora.expert >= experts { c.lora = nil }
        return c
    }

    public var dense: ModelConfig { withExperts(0, topK: 0) }

    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw TributaryError("model.invalid_config", what) }
        }
        try check(vocabSize > 0 && hiddenSize > 0 && numLayers > 0 && numHeads > 0 && intermediateSize > 0 && contextLength > 1,
                  "every dimension must be positive")
        // Bounds far above any model this engine runs, so that every size computed from them fits.
        try check(vocabSize <= 1 << 21 && hiddenSize <= 1 << 16 && numLayers <= 1 << 10 && intermediateSize <= 1 << 18
                  && contextLength <= 1 << 20 && numExperts <= 1 << 12,
                  "a dimension is beyond what this engine supports (vocabulary 2^21, hidden 2^16, layers 2^10, FFN 2^18, context 2^20, experts 2^12)")
        try check(headDim > 0 && headDim <= 1 << 12 && numHeads <= 1 << 12, "head dimension \(headDim) and \(numHeads) heads: both must be positive and at most 4096")
        try check(numKVHeads > 0 && numHeads % numKVHeads == 0, "\(numHeads) query heads are not a multiple of \(numKVHeads) key/value heads")
        try check(headDim % 2 == 0, "head dimension \(headDim) must be even for rotary embeddings")
        if let layers = expertLayers {
            try check(ModelFiles.isExpertLayerSet(layers, numLayers: numLayers),
                      "expert layers \(layers) must be distinct, ascending and within 0..<\(numLayers)")
        }
        if let lora {
            try check(lora.expert < numExperts, "a LoRA update of expert \(lora.expert) needs that expert (the model has \(numExperts))")
        }
        try check(numExperts == 0 || (1...numExperts).contains(expertsPerToken),
                  "experts per token \(expertsPerToken) must be in 1...\(numExperts)")
        try check(ropeTheta > 0 && ropeTheta.isFinite && rmsNormEps > 0 && rmsNormEps.isFinite && rmsNormEps.isNormal,
                  "rope_theta and rms_norm_eps must be positive, finite and not subnormal")
        let bytes = parameterCount.multipliedReportingOverflow(by: 4)
        let memory = ProcessInfo.processInfo.physicalMemory
        guard !bytes.overflow, UInt64(bytes.partialValue) <= memory else {
            throw TributaryError("model.too_large", "the model has \(parameterCount) parameters, more than this machine's \(memory >> 20) MiB of memory holds")
        }
    }

    /// Parameters of the whole model, computed without overflow once the bounds of `validate` hold
    /// (at most about 2^47).
    public var parameterCount: Int {
        let C = hiddenSize, F = intermediateSize, moe = moeLayers.count
        let perLayer = 2 * C + qkvDim * C + C * qDim
        let ffn = (numLayers - moe) * 3 * C * F + moe * (numExperts * 3 * C * F + numExperts * C)
        return (tieEmbeddings ? 1 : 2) * vocabSize * C + C + numLayers * perLayer + ffn + moe * (lora?.factorCount(self) ?? 0)
    }

    /// Hugging Face transformers `config.json`: LlamaForCausalLM when dense, MixtralForCausalLM for MoE.
    public var huggingFaceJSON: JSONValue {
        var m: [(String, JSONValue)] = [
            ("architectures", .array([.string(isMoE ? "MixtralForCausalLM" : "LlamaForCausalLM")])),
            ("model_type", .string(isMoE ? "mixtral" : "llama")),
            ("vocab_size", .int(vocabSize)),
            ("hidden_size", .int(hiddenSize)),
            ("intermediate_size", .int(intermediateSize)),
            ("num_hidden_layers", .int(numLayers)),
            ("num_attention_heads", .int(numHeads)),
            ("num_key_value_heads", .int(numKVHeads)),
            ("head_dim", .int(headDim)),
            ("max_position_embeddings", .int(contextLength)),
            ("rms_norm_eps", .decimal(Double("\(rmsNormEps)")!)),
            ("rope_theta", .decimal(Double("\(ropeTheta)")!)),
            ("hidden_act", .string("silu")),
            ("tie_word_embeddings", .bool(tieEmbeddings)),
            ("attention_bias", .bool(false)),
            ("attention_dropout", .decimal(0)),
            ("initializer_range", .decimal(0.02)),
            ("bos_token_id", .int(bosTokenID)),
            ("eos_token_id", .int(eosTokenID)),
            ("torch_dtype", .string("float32")),
            ("use_cache", .bool(true)),
        ]
        if isMoE {
            m += [("num_local_experts", .int(numExperts)), ("num_experts_per_tok", .int(expertsPerToken)),
                  ("sliding_window", .null), ("output_router_logits", .bool(false)),
                  ("router_aux_loss_coef", .decimal(0)), ("router_jitter_noise", .decimal(0))]
            // The other layers are written with every expert a copy of the dense MLP, so any routing
            // gives exactly it there (`ModelFiles.expertLayersKey`).
            if let layers = expertLayers { m.append((ModelFiles.expertLayersKey, .array(layers.map { .int($0) }))) }
        } else {
            m += [("mlp_bias", .bool(false)), ("pretraining_tp", .int(1))]
        }
        return .object(m)
    }

    /// Reads a `config.json` written by us or by transformers for a Llama or Mixtral model. Fields
    /// this engine does not use are ignored (transformers writes dozens); settings that change the
    /// outputs and that it does not run are refused, not ignored.
    public init(huggingFaceJSON json: JSONValue) throws {
        do {
            var r = try JSONObjectReader(json, path: "config.json")
            let type = try r.string("model_type")
            guard type == "llama" || type == "mixtral" else {
                throw JSONSchemaError(path: "config.json.model_type", problem: "must be \"llama\" or \"mixtral\"")
            }
            if let scaling = r.optionalValue("rope_scaling"), scaling != .null {
                throw JSONSchemaError(path: "config.json.rope_scaling", problem: "is not supported")
            }
            // transformers 5 writes RoPE's settings as `rope_parameters` {rope_type, rope_theta}
            // instead of a top-level rope_theta; read either, refuse a conflict or another RoPE type.
            var ropeParametersTheta: Float? = nil
            if let v = r.optionalValue("rope_parameters"), v != .null {
                var rope = try JSONObjectReader(v, path: "config.json.rope_parameters")
                if let type = try rope.optionalString("rope_type"), type != "default" {
                    throw JSONSchemaError(path: "config.json.rope_parameters.rope_type", problem: "\(type) is not supported (default)")
                }
                guard case let .number(t)? = rope.optionalValue("rope_theta"), let theta = Float(t) else {
                    throw JSONSchemaError(path: "config.json.rope_parameters.rope_theta", problem: "expected a number")
                }
                ropeParametersTheta = theta
            }
            for flag in ["attention_bias", "mlp_bias"] where try r.optionalBool(flag) == true {
                throw JSONSchemaError(path: "config.json.\(flag)", problem: "is not supported")
            }
            if let act = try r.optionalString("hidden_act"), act != "silu" {
                throw JSONSchemaError(path: "config.json.hidden_act", problem: "\(act) is not supported (silu)")
            }
            var layers: [Int]? = nil
            if let v = r.optionalValue(ModelFiles.expertLayersKey), v != .null { layers = try v.intArray(path: "config.json.\(ModelFiles.expertLayersKey)") }
            // Lists (several end tokens) keep the first; the engine stops at one.
            func token(_ key: String, _ fallback: Int) throws(JSONSchemaError) -> Int {
                if let first = r.optionalValue(key)?.arrayValue?.first?.intValue { return first }
                return try r.optionalInt(key) ?? fallback
            }
            // Parsed as Float from the text, as transformers' float32 does (no rounding through Double).
            func float(_ key: String, _ fallback: Float) throws(JSONSchemaError) -> Float {
                guard let v = r.optionalValue(key), v != .null else { return fallback }
                guard case let .number(t) = v, let f = Float(t) else { throw JSONSchemaError(path: "config.json.\(key)", problem: "expected a number") }
                return f
            }
            func ropeTheta(_ fromParameters: Float?) throws(JSONSchemaError) -> Float {
                let top = try float("rope_theta", fromParameters ?? 10000)
                if let fromParameters, top != fromParameters {
                    throw JSONSchemaError(path: "config.json.rope_theta", problem: "\(top) differs from rope_parameters.rope_theta \(fromParameters)")
                }
                return top
            }
            let bos = try token("bos_token_id", ByteTokenizer.bos), eos = try token("eos_token_id", ByteTokenizer.eos)
            self.init(vocabSize: try r.int("vocab_size"), hiddenSize: try r.int("hidden_size"), numLayers: try r.int("num_hidden_layers"),
                      numHeads: try r.int("num_attention_heads"), numKVHeads: try r.optionalInt("num_key_value_heads"),
                      headDim: try r.optionalInt("head_dim"), tieEmbeddings: try r.optionalBool("tie_word_embeddings") ?? false,
                      intermediateSize: try r.int("intermediate_size"), contextLength: try r.int("max_position_embeddings"),
                      ropeTheta: try ropeTheta(ropeParametersTheta), rmsNormEps: try float("rms_norm_eps", 1e-6),
                      numExperts: type == "mixtral" ? try r.int("num_local_experts") : 0,
                      expertsPerToken: type == "mixtral" ? try r.int("num_experts_per_tok") : 0, expertLayers: layers,
                      bosTokenID: bos, eosTokenID: eos)
        } catch let e as JSONSchemaError {
            throw TributaryError("model.invalid_config", e.description)
        }
        guard (0..<vocabSize).contains(bosTokenID), (0..<vocabSize).contains(eosTokenID) else {
            throw TributaryError("model.invalid_config", "config.json: bos_token_id and eos_token_id must be tokens of the vocabulary")
        }
        try validate()
    }
}
