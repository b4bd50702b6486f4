import Foundation
import TributaryCore

/// A model on disk as Hugging Face transformers lays it out: `config.json` and `model.safetensors`
/// (F32, transformers' tensor names, metadata `format: pt`). `from_pretrained(DIR)` loads it.
public enum ModelDirectory {
    public static let weightsFile = ModelFiles.weights
    public static let configFile = ModelFiles.config

    public static func save(_ model: Model, to dir: String, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var w = SafetensorsWriter(metadata: metadata.merging(["format": "pt"]) { a, _ in a })
        for t in model.layout.tensors {
            w.add(t.name, shape: t.shape, values: model.parameters.slice(t.offset, t.count))
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

    /// Loads every tensor the config's layout names, checking shapes; extra tensors are an error.
    public static func load(_ dir: String) throws -> Model {
        let config = try loadConfig(dir)
        let file = try SafetensorsFile(path: dir + "/" + weightsFile)
        let model = Model(config: config)
        try fill(model, from: file, context: dir)
        return model
    }

    static func fill(_ model: Model, from file: SafetensorsFile, context: String) throws {
        let expected = Set(model.layout.tensors.map(\.name))
        for t in file.tensors where !expected.contains(t.name) {
            throw TributaryError("model.unexpected_tensor", "\(context): tensor \(t.name) is not part of this \(model.config.isMoE ? "Mixtral" : "Llama") configuration")
        }
        for t in model.layout.tensors {
            guard let info = try? file.info(t.name) else {
                throw TributaryError("model.missing_tensor", "\(context): tensor \(t.name) is missing")
            }
            guard info.shape == t.shape else {
                throw TributaryError("model.shape_mismatch", "\(context): tensor \(t.name) has shape \(info.shape), the config needs \(t.shape)")
            }
            try file.readFloats(info, into: model.parameters.pointer + t.offset)
        }
    }

    /// SHA-256 of the weights file: the identity of an anchor everywhere in the protocol.
    public static func digest(_ dir: String) throws -> String {
        Hex.encode(try SHA256.digest(fileAt: dir + "/" + weightsFile, noFollow: false).digest)
    }
}
