import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution

/// A LoRA owner's bundle (train, sign, verify), its PEFT adapter round trip, and the files that must
/// be refused rather than read some other way.
@Suite struct LoRABundleTests {
    static let lora = try! LoRAParameters(rank: 2, alpha: 4, targets: [.gate, .down])

    /// Trains a LoRA owner on the tiny anchor over layer 1; returns the anchor and the pipeline's result.
    func owner(_ dir: TempDir) throws -> (AnchorDirectory, ContributionPipeline.Result) {
        let publicText = Corpus(documents: (0..<24).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "public anchor text number \($0). ", count: 20).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 10)
        let data = Corpus(documents: (0..<40).map { Corpus.Document(source: "s\($0)", bytes: Array(String(repeating: "int f\($0)(void) { return \($0); }\n", count: 12).utf8)) })
        var sig = SignatureOptions()
        sig.clusters = 1
        sig.epsilon = 4
        var noise = SeededNoise(seed: 3)
        let r = try ContributionPipeline.train(anchor: a, data: data, expertLayers: [1], lora: Self.lora, training: options(steps: 6), signature: sig,
                                               out: dir.path + "/owner", restart: false, progress: nil, noise: &noise)
        return (a, r)
    }

    @Test func aLoRABundleSignsVerifiesAndRoundTripsThroughPEFT() throws {
        let dir = TempDir()
        let (a, r) = try owner(dir)
        let c = a.model.config
        let key = try SigningKey.generate(name: "owner")
        let signed = try ContributionBundle.sign(directory: r.bundle, key: key, origin: "tributary.test/log")
        #expect(signed.predicate.expert.lora == Self.lora && signed.predicate.expert.layers == [1])
        #expect(signed.predicate.expert.tensors.map(\.name) == ["layers.1.w1.lora_A.weight", "layers.1.w1.lora_B.weight",
                                                                "layers.1.w2.lora_A.weight", "layers.1.w2.lora_B.weight"])
        _ = try ContributionBundle.verify(directory: r.bundle, keys: [key.verifierKey])
        // The owner's 2-expert model is a standard Mixtral directory (no factor tensors in it).
        let model = try ModelDirectory.load(r.model)
        #expect(model.config.numExperts == 2 && model.config.lora == nil)

        let expertFile = try SafetensorsFile(path: r.bundle + "/" + BundleLayout.expertFile)
        let factors = try LoRAFactors(file: expertFile, config: c)
        #expect(factors.parameterCount == 2 * (2 * (c.hiddenSize + c.intermediateSize)))
        // A full-expert reader refuses the file instead of misreading it; the anchor-aware one materialises it.
        #expect(throws: TributaryError.self) { try ExpertWeights(file: expertFile, config: c) }
        let materialised = try ExpertWeights(file: expertFile, anchor: a.model)
        #expect(materialised.w3[0].map(\.bitPattern) == ExpertWeights(denseFFNOf: a.model, layers: [1]).w3[0].map(\.bitPattern))

        let rows = try SafetensorsFile(path: r.bundle + "/" + BundleLayout.routingFile).floats(TensorNames.routerRows)
        let adapter = dir.path + "/adapter"
        try PEFTAdapter.write(factors, routerRows: rows, config: c, to: adapter)
        let back = try PEFTAdapter.read(adapter, config: c)
        #expect(back.factors == factors)
        #expect(back.routerRows?.map(\.bitPattern) == rows.map(\.bitPattern))
        let config = try StrictJSONParser.parse(try readSmallFile(adapter + "/" + PEFTAdapter.configFile, limit: 1 << 20))
        #expect(config["target_modules"] == .array([.string("gate_proj"), .string("down_proj")]) && config["r"] == .int(2))
    }

    @Test func adaptersTheProtocolDoesNotDefineAreRefused() throws {
        let dir = TempDir()
        let c = tiny
        var rng = RNG(seed: 4)
        let f = LoRAFactors(shape: Self.lora, layers: [0, 1],
                            a: (0..<2).map { _ in Self.lora.targets.map { t in (0..<(2 * t.shape(c).in)).map { _ in rng.uniform() } } },
                            b: (0..<2).map { _ in Self.lora.targets.map { t in (0..<(2 * t.shape(c).out)).map { _ in rng.uniform() } } })
        let good = dir.path + "/good"
        try PEFTAdapter.write(f, routerRows: nil, config: c, to: good)
        #expect(try PEFTAdapter.read(good, config: c).routerRows == nil)
        let configText = String(decoding: try readSmallFile(good + "/" + PEFTAdapter.configFile, limit: 1 << 20), as: UTF8.self)
        let cases: [(String, String, String)] = [
            ("DoRA", "\"use_dora\":false", "\"use_dora\":true"),
            ("rsLoRA", "\"use_rslora\":false", "\"use_rslora\":true"),
            ("attention targets", "\"target_modules\":[\"gate_proj\",\"down_proj\"]", "\"target_modules\":[\"gate_proj\",\"down_proj\",\"q_proj\"]"),
            ("biases", "\"bias\":\"none\"", "\"bias\":\"all\""),
            ("a rank the tensors do not have", "\"r\":2", "\"r\":3"),
            ("layers the tensors do not cover", "\"layers_to_transform\":[0,1]", "\"layers_to_transform\":[1]"),
        ]
        for (label, from, to) in cases {
            let bad = dir.path + "/bad-\(label.filter(\.isLetter))"
            try FileManager.default.copyItem(atPath: good, toPath: bad)
            #expect(configText.contains(from), "\(label): the written config has no \(from)")
            try AtomicFileWriter.write(Array(configText.replacingOccurrences(of: from, with: to).utf8), to: bad + "/" + PEFTAdapter.configFile)
            #expect(throws: TributaryError.self, "\(label)") { try PEFTAdapter.read(bad, config: c) }
        }
        // A factor of another layer's name, or metadata that disagrees with the tensors, in a bundle file.
        let expert = dir.path + "/expert.safetensors"
        var w = SafetensorsWriter()
        f.add(to: &w, config: c)
        w.metadata[LoRAParameters.metadataKey] = #"{"alpha":4.0,"rank":3,"targets":["gate_proj","down_proj"]}"#
        try w.write(to: expert)
        #expect(throws: BundleError.self) { try BundleLayout.expertLayout(of: try SafetensorsFile(path: expert).header) }
    }
}
