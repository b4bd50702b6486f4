import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryContribution
import TributaryTestSupport

/// `tributary export --format gguf` (issue 31): the file llama.cpp runs. A dense anchor goes back
/// through the GGUF import bit for bit (the q/k permutation inverted, the tokenizer whole); a mixture's
/// experts are stacked per layer in llama.cpp's layout.
@Suite(.serialized) struct GGUFExportTests {
    /// SmolLM2 (imported from its GGUF, dequantised to F32) → model directory → GGUF F32 → import
    /// again: every weight bit-identical, the same config, tokenizer and chat template.
    @Test func smolLM2RoundTripsThroughItsOwnImport() throws {
        let m = try AnchorImport.model(gguf: try smolLM2Path())
        let dir = TempDir("gguf-export")
        try ModelDirectory.save(m, to: dir.file("model"))
        let template = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
        try AtomicFileWriter.write(JSONWriter.serialize(.object([("chat_template", .string(template))])), to: dir.file("model/" + ChatTemplate.configFile))
        let s = try GGUFExport.write(modelDirectory: dir.file("model"), to: dir.file("smollm2.gguf"), encoding: .f32, name: "smollm2")
        #expect(s.tensors == 3 + 9 * 30 - 1 && s.experts == 0)  // embeddings, final norm, 9 a layer; no output.weight (tied)
        let back = try AnchorImport.model(gguf: dir.file("smollm2.gguf"))
        #expect(back.config == m.config)
        #expect(back.parameters.count == m.parameters.count)
        var differing = 0
        for i in 0..<m.parameters.count where back.parameters[i].bitPattern != m.parameters[i].bitPattern { differing += 1 }
        #expect(differing == 0, "\(differing) weights changed on the way through GGUF")
        guard case let .bpe(a) = m.tokenizer, case let .bpe(b) = back.tokenizer else { Issue.record("not BPE"); return }
        #expect(a.tokens == b.tokens && a.specials == b.specials && a.merges.map { $0.0 + " " + $0.1 } == b.merges.map { $0.0 + " " + $0.1 })
        #expect(a.preTokenizer.individualDigits == b.preTokenizer.individualDigits)
        let f = try GGUFFile(path: dir.file("smollm2.gguf"))
        #expect(f["tokenizer.chat_template"] == .string(template))
        #expect(f["tokenizer.ggml.pre"] == .string("smollm") && f["general.file_type"] == .uint32(0))
    }

    /// A small Mixtral with a BPE vocabulary, experts in layer 1 only (layer 0's experts are copies of
    /// its MLP, as in a release): every layer's experts stacked [experts, out, in], the router F32,
    /// q rows in llama.cpp's order, matrices in Q8_0 within 0.6 of a quantisation step (half a step for the
    /// rounding, the rest for d stored in F16: up to 127 · d · 2^-11).
    @Test func aMixtureIsWrittenInLlamaCppsLayout() throws {
        let letters: [String] = (0..<31).map { (i: Int) -> String in
            let letter = String(Character(UnicodeScalar(UInt8(97 + i % 26))))
            return i >= 26 ? letter + "x" : letter
        }
        let tokens: [String] = ["<|endoftext|>"] + letters
        let tokenizer = try BPETokenizer(tokens: tokens, merges: [], specials: [.init(id: 0, content: "<|endoftext|>")], individualDigits: false)
        let config = ModelConfig(vocabSize: 32, hiddenSize: 32, numLayers: 2, numHeads: 4, numKVHeads: 2, headDim: 8,
                                 tieEmbeddings: false, intermediateSize: 64, contextLength: 16, bosTokenID: 0, eosTokenID: 0).withExperts(3, topK: 2, layers: [1])
        let m = Model.initialised(config: config, seed: 9)
        let model = Model(config: config, parameters: m.parameters, tokenizer: .bpe(tokenizer))
        let dir = TempDir("gguf-moe")
        try ModelDirectory.save(model, to: dir.file("release"))
        let s = try GGUFExport.write(modelDirectory: dir.file("release"), to: dir.file("moe.gguf"), encoding: .q8_0, name: "release")
        #expect(s.experts == 3)
        let f = try GGUFFile(path: dir.file("moe.gguf"))
        #expect(f["llama.expert_count"] == .uint32(3) && f["llama.expert_used_count"] == .uint32(2))
        #expect(f["tributary.expert_layers"] == .array([.uint32(1)]) && f["general.file_type"] == .uint32(7))
        let weights = try SafetensorsFile(path: dir.file("release/model.safetensors"))
        for l in 0..<2 {
            let router = try #require(f.tensor(named: "blk.\(l).ffn_gate_inp.weight"))
            #expect(router.type == .f32 && router.shape == [3, 32])
            #expect(try f.floats(router).map(\.bitPattern) == weights.floats(TensorNames.router(l)).map(\.bitPattern))
            for (g, hf, shape) in [("ffn_gate_exps", TensorNames.expertW1, [3, 64, 32]), ("ffn_up_exps", TensorNames.expertW3, [3, 64, 32]),
                                   ("ffn_down_exps", TensorNames.expertW2, [3, 32, 64])] {
                let t = try #require(f.tensor(named: "blk.\(l).\(g).weight"))
                #expect(t.type == .q8_0 && t.shape == shape, "\(g)")
                let got = try f.floats(t)
                let want = try (0..<3).flatMap { try weights.floats(hf(l, $0)) }
                for b in 0..<want.count / 32 {
                    let step = want[b * 32..<(b + 1) * 32].map(abs).max()! / 127
                    #expect((b * 32..<(b + 1) * 32).allSatisfy { abs(got[$0] - want[$0]) <= step * 0.6 }, "\(g) block \(b)")
                }
            }
            #expect(f.tensor(named: "blk.\(l).ffn_gate.weight") == nil)
        }
        #expect(f.tensor(named: "output.weight") != nil)
        // q rows: row 2i+j of a head in the file is row j·D/2 + i of that head in transformers' order.
        _ = try GGUFExport.write(modelDirectory: dir.file("release"), to: dir.file("moe-f32.gguf"), encoding: .f32, name: "release")
        let f32 = try GGUFFile(path: dir.file("moe-f32.gguf"))
        let q = try f32.floats(try #require(f32.tensor(named: "blk.1.attn_q.weight")))
        let hf = try weights.floats(TensorNames.qProj(1))
        let (D, C) = (8, 32)
        for h in 0..<4 { for i in 0..<D / 2 { for j in 0..<2 {
            let file = h * D + 2 * i + j, original = h * D + j * D / 2 + i
            #expect(Array(q[file * C..<(file + 1) * C]) == Array(hf[original * C..<(original + 1) * C]))
        } } }
    }

    @Test func aByteLevelModelIsRefusedAndNothingIsWritten() throws {
        let config = ModelConfig(vocabSize: ByteTokenizer.vocabSize, hiddenSize: 32, numLayers: 1, numHeads: 4, numKVHeads: 4, headDim: 8,
                                 tieEmbeddings: true, intermediateSize: 64, contextLength: 16)
        let dir = TempDir("gguf-bytes")
        try ModelDirectory.save(Model.initialised(config: config, seed: 1), to: dir.file("m"))
        do {
            _ = try GGUFExport.write(modelDirectory: dir.file("m"), to: dir.file("m.gguf"), encoding: .f16, name: "m")
            Issue.record("a byte-level model was exported")
        } catch let e as TributaryError { #expect(e.code == "gguf.unsupported_tokenizer") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.gguf")))
    }
}
