import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// A pretrained model as a Tributary anchor: from a GGUF file (llama.cpp's format; SmolLM2 ships as
/// one) or a Hugging Face directory, into an anchor directory that transformers also loads as it is.
public enum AnchorImport {
    static func fail(_ code: String, _ why: String) -> TributaryError { TributaryError(code, why) }

    // MARK: GGUF

    /// The model in a GGUF file: its config from the `llama.*` metadata, its tokenizer from
    /// `tokenizer.ggml.*`, its weights dequantised to F32 and renamed to transformers' names.
    ///
    /// q and k rows are put back in transformers' order (`LlamaCppRowOrder`).
    /// `unpermute: false` keeps llama.cpp's row order: only for the test that shows it is wrong.
    public static func model(gguf path: String, unpermute: Bool = true) throws -> Model {
        let f = try GGUFFile(path: path)
        let arch = try f.require("general.architecture").string ?? "?"
        guard arch == "llama" else {
            throw fail("anchor.unsupported_architecture", "\(path) holds a \(arch.debugDescription) model; the anchor must be a Llama-architecture model (SmolLM2, Llama, TinyLlama …)")
        }
        func int(_ key: String) throws -> Int {
            guard let v = try f.require("llama." + key).int, v > 0 else { throw GGUFError.malformed("llama.\(key) is not a positive integer") }
            return v
        }
        func optionalInt(_ key: String) throws -> Int? { f["llama." + key] == nil ? nil : try int(key) }
        func float(_ key: String, _ fallback: Float) throws -> Float {
            guard let v = f["llama." + key] else { return fallback }
            guard let d = v.float else { throw GGUFError.malformed("llama.\(key) is not a number") }
            return Float(d)
        }
        if let scaling = f["llama.rope.scaling.type"]?.string, scaling != "none" {
            throw fail("model.invalid_config", "\(path): RoPE scaling \(scaling.debugDescription) is not supported")
        }
        guard let embed = f.tensor(named: "token_embd.weight"), embed.dims.count == 2 else { throw fail("model.missing_tensor", "\(path) has no token_embd.weight") }
        let hidden = try int("embedding_length"), heads = try int("attention.head_count")
        let headDim = try optionalInt("attention.key_length") ?? hidden / max(heads, 1)
        if let rotary = try optionalInt("rope.dimension_count"), rotary != headDim {
            throw fail("model.invalid_config", "\(path): RoPE over \(rotary) of \(headDim) head dimensions (partial rotary) is not supported")
        }
        let tokenizer = try BPETokenizer(gguf: f)
        let vocab = embed.dims[1]
        guard tokenizer.vocabSize == vocab else {
            throw fail("tokenizer.invalid", "\(path): the tokenizer has \(tokenizer.vocabSize) tokens, token_embd.weight \(vocab) rows")
        }
        let config = ModelConfig(
            vocabSize: vocab, hiddenSize: hidden, numLayers: try int("block_count"), numHeads: heads,
            numKVHeads: try optionalInt("attention.head_count_kv"), headDim: headDim,
            tieEmbeddings: f.tensor(named: "output.weight") == nil, intermediateSize: try int("feed_forward_length"),
            contextLength: try int("context_length"), ropeTheta: try float("rope.freq_base", 10000),
            rmsNormEps: try float("attention.layer_norm_rms_epsilon", 1e-5),
            bosTokenID: f["tokenizer.ggml.bos_token_id"]?.int ?? Int(tokenizer.documentBoundary),
            eosTokenID: f["tokenizer.ggml.eos_token_id"]?.int ?? Int(tokenizer.documentBoundary))
        try config.validate()
        guard (0..<vocab).contains(config.bosTokenID), (0..<vocab).contains(config.eosTokenID) else {
            throw fail("tokenizer.invalid", "\(path): the BOS or EOS token id is not in the vocabulary")
        }
        let model = Model(config: config, tokenizer: .bpe(tokenizer))
        var names = ["token_embd.weight": TensorNames.embedTokens, "output_norm.weight": TensorNames.finalNorm]
        if !config.tieEmbeddings { names["output.weight"] = TensorNames.lmHead }
        for l in 0..<config.numLayers {
            for (g, hf) in [("attn_norm", TensorNames.inputNorm(l)), ("attn_q", TensorNames.qProj(l)), ("attn_k", TensorNames.kProj(l)),
                            ("attn_v", TensorNames.vProj(l)), ("attn_output", TensorNames.oProj(l)), ("ffn_norm", TensorNames.postAttentionNorm(l)),
                            ("ffn_gate", TensorNames.mlpGate(l)), ("ffn_up", TensorNames.mlpUp(l)), ("ffn_down", TensorNames.mlpDown(l))] {
                names["blk.\(l).\(g).weight"] = hf
            }
        }
        for t in f.tensors where names[t.name] == nil {
            throw fail("model.unexpected_tensor", "\(path): tensor \(t.name) has no place in a Llama model of this config")
        }
        for (g, hf) in names.sorted(by: { $0.key < $1.key }) {
            guard let t = f.tensor(named: g) else { throw fail("model.missing_tensor", "\(path): tensor \(g) is missing") }
            let dst = model.layout.tensor(named: hf)!
            guard t.shape == dst.shape else {
                throw fail("model.shape_mismatch", "\(path): tensor \(g) has shape \(t.shape), the config needs \(dst.shape)")
            }
            var values = try f.floats(t)
            if unpermute && (g.hasSuffix(".attn_q.weight") || g.hasSuffix(".attn_k.weight")) {
                values = LlamaCppRowOrder.permute(values, rows: dst.shape[0], cols: dst.shape[1], headDim: headDim, to: .transformers)
            }
            values.withUnsafeBufferPointer { model.pointer(dst.offset).update(from: $0.baseAddress!, count: dst.count) }
        }
        return model
    }

    /// q or k rows from llama.cpp's interleaved order back to transformers' halves, head by head.
    // MARK: Hugging Face

    /// A transformers Llama directory: `config.json`, `tokenizer.json` and the weights in
    /// `model.safetensors` or the shards `model.safetensors.index.json` names (F32, BF16 or F16).
    public static func model(huggingFace dir: String) throws -> Model {
        let config = try ModelDirectory.loadConfig(dir)
        guard !config.isMoE else { throw fail("anchor.not_dense", "\(dir) holds a Mixtral model; an anchor is a dense Llama model") }
        let tokenizerPath = dir + "/" + ModelFiles.tokenizer
        guard FileManager.default.fileExists(atPath: tokenizerPath) else { throw fail("tokenizer.not_found", "\(dir) has no \(ModelFiles.tokenizer)") }
        let tokenizer = try BPETokenizer(contentsOf: tokenizerPath)
        guard tokenizer.vocabSize == config.vocabSize else {
            throw fail("tokenizer.invalid", "\(tokenizerPath) has \(tokenizer.vocabSize) tokens, config.json's vocab_size is \(config.vocabSize)")
        }
        let weights = try HuggingFaceWeights(directory: dir)
        let model = Model(config: config, tokenizer: .bpe(tokenizer))
        let wanted = Set(model.layout.tensors.map(\.name))
        for name in weights.names.sorted() where !wanted.contains(name) {
            // Buffers transformers recomputes, and the tied output head some checkpoints save anyway.
            if name.hasSuffix(".rotary_emb.inv_freq") || (config.tieEmbeddings && name == TensorNames.lmHead) { continue }
            throw fail("model.unexpected_tensor", "\(dir): tensor \(name) has no place in a Llama model of this config")
        }
        for t in model.layout.tensors { try weights.read(t.name, shape: t.shape, into: model.pointer(t.offset)) }
        return model
    }
}

extension AnchorImport {
    /// Writes an imported model as an anchor directory: the model in transformers' layout (config,
    /// weights, tokenizer), its routing entry from the operator's public text, and `anchor.json`
    /// (where it came from; informative). Built in a temporary sibling and renamed into place, so
    /// `out` holds a whole anchor or nothing; an existing, non-empty `out` is refused.
    public static func write(model: Model, source: JSONValue, chatTemplate: String? = nil, publicText: Corpus, clusters: Int,
                             space: SignatureSpace.Recipe = .init(), spaceText: Corpus? = nil, seed: UInt64, workers: Int, out: String, progress: ProgressReporter?) throws -> String {
        let fm = FileManager.default
        if let contents = try? fm.contentsOfDirectory(atPath: out), !contents.isEmpty {
            throw fail("anchor.exists", "\(out) exists and is not empty; choose another --out or remove it")
        }
        let parent = (out as NSString).deletingLastPathComponent
        let tmp = (parent.isEmpty ? "." : parent) + "/.tmp-anchor-" + Hex.encode(secureRandomBytes(6))
        defer { try? fm.removeItem(atPath: tmp) }
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try ModelDirectory.save(model, to: tmp)
        if let chatTemplate, case let .bpe(t) = model.tokenizer {
            // What AutoTokenizer reads besides tokenizer.json; Tributary reads only the chat template.
            let c = model.config
            let tokenizerConfig = JSONValue.object([
                ("tokenizer_class", .string("PreTrainedTokenizerFast")), ("chat_template", .string(chatTemplate)),
                ("bos_token", .string(t.tokens[c.bosTokenID])), ("eos_token", .string(t.tokens[c.eosTokenID])),
                ("model_max_length", .int(c.contextLength)), ("clean_up_tokenization_spaces", .bool(false)),
            ])
            try AtomicFileWriter.write(JSONWriter.serialize(tokenizerConfig) + [0x0a], to: tmp + "/" + ChatTemplate.configFile)
        }
        progress?.log("computing the anchor's signature space, router rows and \(clusters) centroids over \(publicText.documents.count) public documents (\(publicText.totalBytes) bytes)")
        let fitted = try AnchorDirectory.writeRouting(model: model, publicText: publicText, clusters: clusters, space: space,
                                                      spaceText: spaceText, seed: seed, workers: workers, to: tmp)
        progress?.log("signature space: layer \(fitted.layer) of \(model.config.numLayers), \(fitted.dimension) dimensions\(fitted.projection == nil ? "" : ", fitted on \((spaceText ?? publicText).documents.count) public documents")")
        let digest = try AnchorDirectory.digest(tmp)
        let summary = JSONValue.object([
            ("digest", .object([("sha256", .string(digest))])),
            ("config", model.config.huggingFaceJSON),
            ("imported", source),
            ("routingCorpus", .object([("documents", .int(publicText.documents.count)), ("bytes", .int(publicText.totalBytes)),
                                       ("fingerprint", .string(publicText.fingerprint))])),
            ("signatureCorpus", .object([("documents", .int((spaceText ?? publicText).documents.count)), ("bytes", .int((spaceText ?? publicText).totalBytes)),
                                         ("fingerprint", .string((spaceText ?? publicText).fingerprint))])),
        ])
        try AtomicFileWriter.write(JSONWriter.serialize(summary) + [0x0a], to: tmp + "/" + AnchorDirectory.summaryFile)
        try? fm.removeItem(atPath: out)  // an empty directory only (checked above)
        guard rename(tmp, out) == 0 else { throw FileSystemError.posix("rename", out, errno) }
        return digest
    }
}
