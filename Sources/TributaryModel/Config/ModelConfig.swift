import Foundation
import TributaryCore

/// The shape of a Llama-style decoder. `numExperts == 0` means a dense SwiGLU MLP in every layer;
/// otherwise every layer's feed-forward block is a Mixtral MoE with that many experts.
public struct ModelConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    /// Longest sequence the model is trained on (`max_position_embeddings`).
    public var contextLength: Int
    public var ropeTheta: Float
    public var rmsNormEps: Float
    public var numExperts: Int
    public var expertsPerToken: Int

    public init(vocabSize: Int = ByteTokenizer.vocabSize, hiddenSize: Int, numLayers: Int, numHeads: Int,
                intermediateSize: Int, contextLength: Int, ropeTheta: Float = 10000, rmsNormEps: Float = 1e-5,
                numExperts: Int = 0, expertsPerToken: Int = 0) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.rmsNormEps = rmsNormEps
        self.numExperts = numExperts
        self.expertsPerToken = expertsPerToken
    }

    public var headDim: Int { hiddenSize / numHeads }
    public var isMoE: Bool { numExperts > 0 }

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

    /// The same model with every FFN turned into an `experts`-expert MoE routing to `topK` of them.
    public func withExperts(_ experts: Int, topK: Int) -> ModelConfig {
        var c = self
        c.numExperts = experts
        c.expertsPerToken = topK
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
        try check(hiddenSize % numHeads == 0, "hidden size \(hiddenSize) is not a multiple of \(numHeads) heads")
        try check(headDim % 2 == 0, "head dimension \(headDim) must be even for rotary embeddings")
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
        let C = hiddenSize, F = intermediateSize, E = max(numExperts, 1)
        let perLayer = 2 * C + 4 * C * C + E * 3 * C * F + (isMoE ? numExperts * C : 0)
        return 2 * vocabSize * C + C + numLayers * perLayer
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
            ("num_key_value_heads", .int(numHeads)),
            ("head_dim", .int(headDim)),
            ("max_position_embeddings", .int(contextLength)),
            ("rms_norm_eps", .decimal(Double("\(rmsNormEps)")!)),
            ("rope_theta", .decimal(Double("\(ropeTheta)")!)),
            ("hidden_act", .string("silu")),
            ("tie_word_embeddings", .bool(false)),
            ("attention_bias", .bool(false)),
            ("attention_dropout", .decimal(0)),
            ("initializer_range", .decimal(0.02)),
            ("bos_token_id", .int(ByteTokenizer.bos)),
            ("eos_token_id", .int(ByteTokenizer.eos)),
            ("torch_dtype", .string("float32")),
            ("use_cache", .bool(true)),
        ]
        if isMoE {
            m += [("num_local_experts", .int(numExperts)), ("num_experts_per_tok", .int(expertsPerToken)),
                  ("sliding_window", .null), ("output_router_logits", .bool(false)),
                  ("router_aux_loss_coef", .decimal(0)), ("router_jitter_noise", .decimal(0))]
        } else {
            m += [("mlp_bias", .bool(false)), ("pretraining_tp", .int(1))]
        }
        return .object(m)
    }

    /// Reads a `config.json` written by us or by transformers for a Llama or Mixtral model.
    public init(huggingFaceJSON json: JSONValue) throws {
        func int(_ key: String) throws -> Int {
            guard case let .number(t)? = json[key], let v = Int(t) else {
                throw TributaryError("model.invalid_config", "config.json: \(key) must be an integer")
            }
            return v
        }
        func float(_ key: String, _ fallback: Float) throws -> Float {
            guard let v = json[key] else { return fallback }
            guard case let .number(t) = v, let f = Float(t) else {
                throw TributaryError("model.invalid_config", "config.json: \(key) must be a number")
            }
            return f
        }
        guard case let .string(type)? = json["model_type"], type == "llama" || type == "mixtral" else {
            throw TributaryError("model.invalid_config", "config.json: model_type must be \"llama\" or \"mixtral\"")
        }
        if let kv = json["num_key_value_heads"], kv != .null, try int("num_key_value_heads") != int("num_attention_heads") {
            throw TributaryError("model.invalid_config", "config.json: grouped-query attention is not supported")
        }
        if case .bool(true)? = json["tie_word_embeddings"] {
            throw TributaryError("model.invalid_config", "config.json: tied embeddings are not supported")
        }
        self.init(vocabSize: try int("vocab_size"), hiddenSize: try int("hidden_size"), numLayers: try int("num_hidden_layers"),
                  numHeads: try int("num_attention_heads"), intermediateSize: try int("intermediate_size"),
                  contextLength: try int("max_position_embeddings"), ropeTheta: try float("rope_theta", 10000),
                  rmsNormEps: try float("rms_norm_eps", 1e-6),
                  numExperts: type == "mixtral" ? try int("num_local_experts") : 0,
                  expertsPerToken: type == "mixtral" ? try int("num_experts_per_tok") : 0)
        try validate()
    }
}
