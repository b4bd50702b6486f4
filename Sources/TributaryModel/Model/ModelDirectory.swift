import Foundation
import TributaryCore

/// A model on disk as Hugging Face transformers lays it out: `config.json` and `model.safetensors`
/// (F32, transformers' tensor names, metadata `format: pt`). `from_pretrained(DIR)` loads it.
public enum ModelDirectory {
    public static let weightsFile = ModelFiles.weights
    public static let configFile = ModelFiles.config

    public static func save(_ model: Model, to dir: String, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if case let .bpe(t) = model.tokenizer {
            try AtomicFileWriter.write(JSONWriter.serialize(t.json(), sortKeys: false), to: dir + "/" + ModelFiles.tokenizer)
        }
        var w = SafetensorsWriter(metadata: metadata.merging(["format": "pt"]) { a, _ in a })
        for t in fileTensors(model.config) {
            w.add(t.name, shape: t.shape, values: t.offset < 0 ? [Float](repeating: 0, count: t.count) : model.parameters.slice(t.offset, t.count))
        }
        try w.write(to: dir + "/" + weightsFile)
        try AtomicFileWriter.write(JSONWriter.serialize(model.config.huggingFaceJSON, sortKeys: false) + [0x0a], to: dir + "/" + configFile)
    }

    public static func loadConfig(_ dir: String) throws -> ModelConfig {
        let path = dir + "/" + configFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw TributaryError("model.not_found", "\(dir) holds no \(configFile); is it a model directory?")
        }
        let bytes = try readSmallFile(path, limit: 1 << 20, noFollow: false)
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes) } catch {
            throw TributaryError("model.invalid_config", "\(path): \(error)")
        }
        return try ModelConfig(huggingFaceJSON: json)
    }

    /// The directory's tokenizer: `tokenizer.json` when present (its vocabulary must be the model's),
    /// else the built-in byte tokenizer (then the model must have its 258 tokens).
    public static func loadTokenizer(_ dir: String, config: ModelConfig) throws -> Tokenizer {
        let path = dir + "/" + ModelFiles.tokenizer
        guard FileManager.default.fileExists(atPath: path) else {
            guard config.vocabSize == ByteTokenizer.vocabSize else {
                throw TributaryError("tokenizer.not_found", "\(dir) has no \(ModelFiles.tokenizer), and its vocabulary of \(config.vocabSize) is not the built-in byte tokenizer's \(ByteTokenizer.vocabSize)")
            }
            return .bytes
        }
        let t = try BPETokenizer(contentsOf: path)
        guard t.vocabSize == config.vocabSize else {
            throw TributaryError("tokenizer.invalid", "\(path) has \(t.vocabSize) tokens, the model's vocabulary \(config.vocabSize)")
        }
        return .bpe(t)
    }

    /// Loads every tensor the config's layout names, checking shapes; extra tensors are an error.
    public static func load(_ dir: String) throws -> Model {
        let config = try loadConfig(dir)
        let tokenizer = try loadTokenizer(dir, config: config)
        let file = try SafetensorsFile(path: dir + "/" + weightsFile)
        let model = Model(config: config, tokenizer: tokenizer)
        try fill(model, from: file, context: dir)
        return model
    }

    /// The tensors of the file for `config`, each with where its values live in the parameter buffer.
    /// Usually the layout's own; but transformers' Mixtral has experts in every layer, so a model with
    /// experts in some layers only writes each other layer's MLP as E identical experts (w1 = gate,
    /// w3 = up, w2 = down, each reading the same parameters) under a zero router: any routing then
    /// gives exactly that MLP. Reading checks the copies are identical and the router finite.
    static func fileTensors(_ c: ModelConfig) -> [ParameterLayout.Tensor] {
        let layout = ParameterLayout(c)
        guard c.isMoE, c.expertLayers != nil else { return layout.tensors }
        var out = [ParameterLayout.Tensor]()
        for t in layout.tensors {
            guard let (l, part) = TensorNames.mlpPart(of: t.name) else { out.append(t); continue }
            if part == 0 { out.append(.init(name: TensorNames.router(l), shape: [c.numExperts, c.hiddenSize], offset: -1)) }
            for e in 0..<c.numExperts {
                out.append(.init(name: TensorNames.expert(part: part, layer: l, expert: e), shape: t.shape, offset: t.offset))
            }
        }
        return out
    }

    static func fill(_ model: Model, from file: SafetensorsFile, context: String) throws {
        let tensors = fileTensors(model.config)
        let expected = Set(tensors.map(\.name))
        for t in file.tensors where !expected.contains(t.name) {
            throw TributaryError("model.unexpected_tensor", "\(context): tensor \(t.name) is not part of this \(model.config.isMoE ? "Mixtral" : "Llama") configuration")
        }
        var filled = Set<Int>()
        for t in tensors {
            guard let info = try? file.info(t.name) else {
                throw TributaryError("model.missing_tensor", "\(context): tensor \(t.name) is missing")
            }
            guard info.shape == t.shape else {
                throw TributaryError("model.shape_mismatch", "\(context): tensor \(t.name) has shape \(info.shape), the config needs \(t.shape)")
            }
            if t.offset < 0 {
                // A dense layer's router: any finite values route to identical experts.
                guard try file.floats(t.name).allSatisfy(\.isFinite) else {
                    throw TributaryError("model.shape_mismatch", "\(context): \(t.name) is not finite")
                }
            } else if filled.insert(t.offset).inserted {
                try file.readFloats(info, into: model.parameters.pointer + t.offset)
            } else {
                // A copy of a dense MLP in a layer without experts: it must be the same weights.
                guard try file.floats(t.name) == model.parameters.slice(t.offset, t.count) else {
                    throw TributaryError("model.shape_mismatch", "\(context): \(t.name) differs from expert 0 of its layer, which has no experts of its own (tributary_expert_layers)")
                }
            }
        }
    }

    /// The model's identity over config, weights and tokenizer (`ModelFiles.identity`): the anchor
    /// digest everywhere in the protocol.
    public static func digest(_ dir: String) throws -> String { try ModelFiles.identity(of: dir) }
}
