import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// Our forward pass against an independent numpy implementation of Llama/Mixtral reading the files we
/// wrote (scripts/interop/llama_reference.py). The same script checks against transformers itself
/// on demand (`transformers` mode), see benchmarks/README.md.
@Suite struct ReferenceLogitsTests {
    func python() throws -> String { try interopPython() }

    var script: String { packageRoot + "/scripts/interop/llama_reference.py" }

    func referenceLogits(_ dir: String, _ tokens: [Int32]) throws -> [[Double]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try python())
        p.arguments = [script, "numpy", dir, tokens.map(String.init).joined(separator: ",")]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TributaryError("test.reference", String(decoding: e, as: UTF8.self)) }
        guard case let .array(rows)? = try StrictJSONParser.parse([UInt8](data))["logits"] else {
            throw TributaryError("test.reference", "the reference printed no logits")
        }
        return try rows.map { row in
            guard case let .array(v) = row else { throw TributaryError("test.reference", "a logits row is not an array") }
            return try v.map {
                guard case let .number(t) = $0, let x = Double(t) else { throw TributaryError("test.reference", "a logit is not a number") }
                return x
            }
        }
    }

    func ourLogits(_ m: Model, _ tokens: [Int32]) -> [[Double]] {
        let acts = Activations(config: m.config, batch: 1, seqLen: tokens.count, training: false)
        let pad = [Int32](repeating: -1, count: tokens.count)
        tokens.withUnsafeBufferPointer { t in pad.withUnsafeBufferPointer { acts.load(tokens: t, targets: $0) } }
        m.forward(acts, computeLoss: false)
        let V = m.config.vocabSize
        return (0..<tokens.count).map { t in (0..<V).map { Double(acts.logits[t * V + $0]) } }
    }

    /// Dense; Mixtral in every layer; grouped-query attention with its own head dimension and tied
    /// embeddings (SmolLM2's shape); and experts in layer 1 only, written in transformers' Mixtral
    /// form (the other layer's MLP as every expert).
    static let configs: [(String, ModelConfig)] = [
        ("dense", ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 48, contextLength: 16)),
        ("mixtral", ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 48, contextLength: 16).withExperts(3, topK: 2)),
        ("gqa-tied", ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 6, numKVHeads: 2, headDim: 8, tieEmbeddings: true,
                                 intermediateSize: 48, contextLength: 16)),
        ("gqa-tied-layer1", ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 6, numKVHeads: 2, headDim: 8, tieEmbeddings: true,
                                        intermediateSize: 48, contextLength: 16).withExperts(3, topK: 2, layers: [1])),
    ]

    @Test(arguments: configs.indices)
    func logitsMatchTheNumpyReference(configIndex: Int) throws {
        let (name, config) = Self.configs[configIndex]
        let dir = TempDir()
        let m = Model.initialised(config: config, seed: 11)
        // Larger weights than the init so attention and routing are far from uniform.
        var rng = RNG(seed: 12)
        for i in 0..<m.parameters.count { m.parameters[i] += Float(rng.normal() * 0.1) }
        try ModelDirectory.save(m, to: dir.path)
        let tokens: [Int32] = [256, 84, 114, 105, 98, 117, 116, 97, 114, 121, 33, 10, 0, 255, 257]
        let ours = ourLogits(m, tokens), ref = try referenceLogits(dir.path, tokens)
        #expect(ref.count == tokens.count)
        var worst = 0.0
        for (a, b) in zip(ours, ref) { for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) } }
        // Float32 against float64: the logits are O(1), rounding differences stay far below 1e-4.
        #expect(worst < 1e-4, "\(name): max |logit difference| = \(worst)")
        // Reading the directory back gives the same model (the Mixtral copies fold back into one MLP).
        let back = try ModelDirectory.load(dir.path)
        #expect(back.config == m.config)
        #expect(back.parameters.array == m.parameters.array)
    }

    /// The key/value-cached decoder gives the logits of the full forward pass at every position.
    @Test(arguments: configs.indices)
    func decoderMatchesTheFullForwardPass(configIndex: Int) throws {
        let (name, config) = Self.configs[configIndex]
        let m = Model.initialised(config: config, seed: 13)
        var rng = RNG(seed: 14)
        for i in 0..<m.parameters.count { m.parameters[i] += Float(rng.normal() * 0.1) }
        let tokens: [Int32] = [256, 84, 114, 105, 98, 117, 116, 97, 114, 121, 33, 10, 0, 255]
        let full = ourLogits(m, tokens)
        let d = Decoder(model: m)
        var worst = 0.0
        for (t, tok) in tokens.enumerated() {
            d.step(tok)
            for v in 0..<config.vocabSize { worst = max(worst, abs(Double(d.logits[v]) - full[t][v])) }
        }
        // The same arithmetic in other groupings (one row at a time vs batched sgemm): float32 rounding only.
        #expect(worst < 1e-4, "\(name): max |logit difference| = \(worst)")
    }
}
