import Foundation
import TributaryCore
import TributaryModel

/// A model directory — a Llama anchor or a Mixtral release — as a GGUF file llama.cpp runs, the
/// reverse of `AnchorImport.model(gguf:)`: llama.cpp's `llama` architecture with its tensor names
/// (the `gguf` package's `constants.py`), Mixtral's experts stacked into `ffn_{gate,up,down}_exps`
/// [experts, out, in] with the router as `ffn_gate_inp`, q and k rows permuted to llama.cpp's RoPE
/// order (as its converter does), and the byte-level BPE tokenizer and chat template in the metadata.
///
/// A release whose experts sit in some layers only is written as the safetensors release already is:
/// every layer a mixture, the anchor's MLP as every expert where nothing was contributed (llama.cpp's
/// `llama` model has experts in every layer or in none). Norms and routers stay F32; every other
/// matrix takes the chosen encoding (Q8_0 falls back to F16 for rows that are not whole blocks of 32,
/// as llama.cpp's converter does).
public enum GGUFExport {
    public enum Encoding: String, CaseIterable, Sendable {
        case f32, f16, q8_0
        var type: GGMLType { self == .f32 ? .f32 : self == .f16 ? .f16 : .q8_0 }
        /// `general.file_type` (gguf's LlamaFileType): ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7.
        var fileType: UInt32 { self == .f32 ? 0 : self == .f16 ? 1 : 7 }
    }

    public struct Summary: Sendable {
        public let tensors: Int
        public let experts: Int
        public let bytes: UInt64
    }

    static func fail(_ code: String, _ why: String) -> TributaryError { TributaryError(code, why) }

    /// `chatTemplateFrom`: a directory whose `tokenizer_config.json` holds the chat template (default:
    /// the model directory; a release has none of its own, its anchor has).
    public static func write(modelDirectory dir: String, to path: String, encoding: Encoding, name: String,
                             chatTemplateFrom: String? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let config = try ModelDirectory.loadConfig(dir)
        guard case let .bpe(tokenizer) = try ModelDirectory.loadTokenizer(dir, config: config) else {
            throw fail("gguf.unsupported_tokenizer", "\(dir) uses the built-in byte tokenizer, which llama.cpp does not have; GGUF export is for Llama-family models with a byte-level BPE tokenizer (an imported anchor and its releases)")
        }
        let weights = try SafetensorsFile(path: dir + "/" + ModelFiles.weights)
        var w = GGUFWriter()
        metadata(&w, config: config, tokenizer: tokenizer, name: name,
                 chatTemplate: try chatTemplate(in: chatTemplateFrom ?? dir), encoding: encoding)
        let matrix = encoding.type, L = config.numLayers, D = config.headDim
        func add(_ gguf: String, _ hf: String, type: GGMLType, transform: (([Float], [Int]) -> [Float])? = nil) throws {
            let info = try weights.info(hf)
            try w.addTensor(gguf, shape: info.shape, type: encodable(type, info.shape), values: {
                let v = try weights.floats(info)
                return transform?(v, info.shape) ?? v
            })
        }
        try add("token_embd.weight", TensorNames.embedTokens, type: matrix)
        try add("output_norm.weight", TensorNames.finalNorm, type: .f32)
        if !config.tieEmbeddings { try add("output.weight", TensorNames.lmHead, type: matrix) }
        let moe = (0..<L).map { (try? weights.info(TensorNames.router($0))) != nil }
        guard moe.allSatisfy({ $0 == moe[0] }) else {
            throw fail("gguf.mixed_layers", "\(dir) has experts in some layers and a dense MLP in others; llama.cpp's llama model needs experts in every layer or none")
        }
        let E = config.numExperts
        for l in 0..<L {
            let b = "blk.\(l)."
            try add(b + "attn_norm.weight", TensorNames.inputNorm(l), type: .f32)
            try add(b + "attn_q.weight", TensorNames.qProj(l), type: matrix) { v, s in LlamaCppRowOrder.permute(v, rows: s[0], cols: s[1], headDim: D, to: .llamaCpp) }
            try add(b + "attn_k.weight", TensorNames.kProj(l), type: matrix) { v, s in LlamaCppRowOrder.permute(v, rows: s[0], cols: s[1], headDim: D, to: .llamaCpp) }
            try add(b + "attn_v.weight", TensorNames.vProj(l), type: matrix)
            try add(b + "attn_output.weight", TensorNames.oProj(l), type: matrix)
            try add(b + "ffn_norm.weight", TensorNames.postAttentionNorm(l), type: .f32)
            if moe[l] {
                try add(b + "ffn_gate_inp.weight", TensorNames.router(l), type: .f32)
                for (g, expert) in [("ffn_gate_exps", TensorNames.expertW1), ("ffn_up_exps", TensorNames.expertW3), ("ffn_down_exps", TensorNames.expertW2)] {
                    let infos = try (0..<E).map { try weights.info(expert(l, $0)) }
                    guard infos.allSatisfy({ $0.shape == infos[0].shape }) else { throw fail("gguf.invalid_model", "layer \(l)'s experts differ in shape") }
                    let shape = [E] + infos[0].shape
                    try w.addTensor(b + g + ".weight", shape: shape, type: encodable(matrix, shape)) {
                        var stacked = [Float]()
                        stacked.reserveCapacity(shape.reduce(1, *))
                        for info in infos { stacked += try weights.floats(info) }
                        return stacked
                    }
                }
            } else {
                try add(b + "ffn_gate.weight", TensorNames.mlpGate(l), type: matrix)
                try add(b + "ffn_up.weight", TensorNames.mlpUp(l), type: matrix)
                try add(b + "ffn_down.weight", TensorNames.mlpDown(l), type: matrix)
            }
        }
        try w.write(to: path, progress: progress)
        var st = stat()
        return Summary(tensors: w.tensorCount, experts: moe[0] ? E : 0, bytes: stat(path, &st) == 0 ? UInt64(st.st_size) : 0)
    }

    /// Q8_0 only for rows of whole blocks; F16 otherwise (what llama.cpp's converter falls back to).
    static func encodable(_ type: GGMLType, _ shape: [Int]) -> GGMLType {
        type == .q8_0 && shape.last! % 32 != 0 ? .f16 : type
    }

    static func metadata(_ w: inout GGUFWriter, config c: ModelConfig, tokenizer t: BPETokenizer, name: String,
                         chatTemplate: String?, encoding: Encoding) {
        w.add("general.architecture", .string("llama"))
        w.add("general.type", .string("model"))
        w.add("general.name", .string(name))
        w.add("general.file_type", .uint32(encoding.fileType))
        w.add("general.quantization_version", .uint32(2))
        for (key, value) in [("block_count", c.numLayers), ("context_length", c.contextLength), ("embedding_length", c.hiddenSize),
                             ("feed_forward_length", c.intermediateSize), ("attention.head_count", c.numHeads),
                             ("attention.head_count_kv", c.numKVHeads), ("vocab_size", c.vocabSize), ("rope.dimension_count", c.headDim),
                             ("attention.key_length", c.headDim), ("attention.value_length", c.headDim)] {
            w.add("llama." + key, .uint32(UInt32(value)))
        }
        w.add("llama.rope.freq_base", .float32(c.ropeTheta))
        w.add("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        if c.isMoE {
            w.add("llama.expert_count", .uint32(UInt32(c.numExperts)))
            w.add("llama.expert_used_count", .uint32(UInt32(c.expertsPerToken)))
        }
        if let layers = c.expertLayers {
            // Which layers hold contributed experts (informative; llama.cpp ignores keys it does not know).
            w.add("tributary.expert_layers", .array(layers.map { .uint32(UInt32($0)) }))
        }
        w.add("tokenizer.ggml.model", .string("gpt2"))
        w.add("tokenizer.ggml.pre", .string(t.preTokenizer.individualDigits ? "smollm" : "gpt2"))
        w.add("tokenizer.ggml.tokens", .array(t.tokens.map { .string($0) }))
        // gguf TokenType: 1 normal, 3 control (the added special tokens, matched before pre-tokenisation).
        let special = Set(t.specials.map(\.id))
        w.add("tokenizer.ggml.token_type", .array((0..<t.vocabSize).map { .int32(special.contains(Int32($0)) ? 3 : 1) }))
        w.add("tokenizer.ggml.merges", .array(t.merges.map { .string($0.0 + " " + $0.1) }))
        w.add("tokenizer.ggml.bos_token_id", .uint32(UInt32(c.bosTokenID)))
        w.add("tokenizer.ggml.eos_token_id", .uint32(UInt32(c.eosTokenID)))
        w.add("tokenizer.ggml.add_bos_token", .bool(false))
        w.add("tokenizer.ggml.add_space_prefix", .bool(false))
        if let chatTemplate { w.add("tokenizer.chat_template", .string(chatTemplate)) }
    }

    /// The `chat_template` string of `dir/tokenizer_config.json`, when there is one.
    static func chatTemplate(in dir: String) throws -> String? {
        let path = dir + "/" + ChatTemplate.configFile
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let json: JSONValue
        do { json = try StrictJSONParser.parse(try readSmallFile(path, limit: 1 << 22, noFollow: false)) } catch {
            throw fail("gguf.invalid_chat_template", "\(path): \(error)")
        }
        return json["chat_template"]?.stringValue
    }
}
