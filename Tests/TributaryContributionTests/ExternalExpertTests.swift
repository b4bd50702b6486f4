import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution

/// `tributary contribute`: experts trained elsewhere, checked against the anchor before they become a bundle.
@Suite struct ExternalExpertTests {
    /// A tiny anchor and an expert trained on it in layer 1 only (layer 0 untouched), the run's output.
    struct Fixture {
        let dir: TempDir
        let anchor: AnchorDirectory
        let data: Corpus
        let trained: ContributionPipeline.Result
        var expert: ExpertWeights { get throws { try ExpertWeights(file: SafetensorsFile(path: trained.bundle + "/" + BundleLayout.expertFile), config: anchor.model.config) } }
        var rows: [Float] { get throws { try RoutingSignature.read(trained.bundle + "/" + BundleLayout.routingFile).routerRows } }
    }

    static func signatureOptions() -> SignatureOptions {
        var sig = SignatureOptions()
        sig.clusters = 1
        sig.minSelfRouting = 0  // whether toy documents route is chance; the import is under test
        return sig
    }

    static func fixture() throws -> Fixture {
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<10).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "anchor \($0) ", count: 40).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 5)
        let data = Corpus(documents: (0..<40).map { Corpus.Document(source: "d\($0)", bytes: Array(String(repeating: "owner document \($0); ", count: 10).utf8)) })
        var noise = SeededNoise(seed: 3)
        let r = try ContributionPipeline.train(anchor: a, data: data, expertLayers: [1], training: options(steps: 3), signature: signatureOptions(),
                                               out: dir.path + "/owner", restart: false, progress: nil, noise: &noise)
        return Fixture(dir: dir, anchor: a, data: data, trained: r)
    }

    /// Writes a checkpoint the way transformers' Mixtral saves one: every layer a 2-expert mixture,
    /// expert 0 the anchor's MLP, expert 1 `expert` where it has layers (the anchor's MLP elsewhere),
    /// router rows [anchor's, `rows`'s], in `dtype`; `edit` changes a tensor's values before writing.
    static func writeCheckpoint(_ f: Fixture, to dir: String, dtype: SafetensorsWriter.OutputDType = .f32, expert: ExpertWeights? = nil,
                                shards: Bool = false, edit: (String, inout [Float]) -> Void = { _, _ in }) throws {
        let m = f.anchor.model, c = m.config, C = c.hiddenSize
        let e = try expert ?? f.expert, rows = try f.rows
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var tensors = [(String, [Int], [Float])]()
        for t in ParameterLayout(c).tensors {
            let values = m.parameters.slice(t.offset, t.count)
            guard let (l, part) = TensorNames.mlpPart(of: t.name) else { tensors.append((t.name, t.shape, values)); continue }
            if part == 0 {
                tensors.append((TensorNames.router(l), [2, C], Array(f.anchor.routerRows[l * C..<(l + 1) * C]) + Array(rows[l * C..<(l + 1) * C])))
            }
            let own = e.layers.firstIndex(of: l).map { [e.w1[$0], e.w3[$0], e.w2[$0]][part] } ?? values
            tensors.append((TensorNames.expert(part: part, layer: l, expert: 0), t.shape, values))
            tensors.append((TensorNames.expert(part: part, layer: l, expert: 1), t.shape, own))
        }
        let groups = shards ? [Array(tensors.prefix(tensors.count / 2)), Array(tensors.dropFirst(tensors.count / 2))] : [tensors]
        var map = [(String, JSONValue)]()
        for (i, group) in groups.enumerated() {
            let name = shards ? "model-0000\(i + 1)-of-00002.safetensors" : "model.safetensors"
            var w = SafetensorsWriter(metadata: ["format": "pt"])
            for (n, shape, values) in group {
                var v = values
                edit(n, &v)
                w.add(n, shape: shape, values: v, dtype: dtype)
                map.append((n, .string(name)))
            }
            try w.write(to: dir + "/" + name)
        }
        if shards {
            try AtomicFileWriter.write(JSONWriter.serialize(.object([("metadata", .object([])), ("weight_map", .object(map))])), to: dir + "/model.safetensors.index.json")
        }
        // transformers 5 writes RoPE's theta under rope_parameters, not at the top level.
        guard case var .object(fields) = c.withExperts(2, topK: 2).huggingFaceJSON else { return }
        let theta = fields.first { $0.0 == "rope_theta" }!.1
        fields.removeAll { $0.0 == "rope_theta" }
        fields.append(("rope_parameters", .object([("rope_theta", theta), ("rope_type", .string("default"))])))
        try AtomicFileWriter.write(JSONWriter.serialize(.object(fields)), to: dir + "/config.json")
    }

    static func read(_ f: Fixture, _ dir: String, allowed: [Int]? = nil) throws -> ExternalExpert {
        try ExternalExpert.readCheckpoint(dir, anchor: f.anchor.model, anchorRows: f.anchor.routerRows, allowed: allowed)
    }

    static func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as TributaryError { return e.code } catch { return "\(error)" }
    }

    /// Tributary's own 2-expert output imports back to the very bundle `train` wrote, tensor for tensor.
    @Test func trainOutputImportsToTheSameBundle() throws {
        let f = try Self.fixture()
        let imported = try Self.read(f, f.trained.model)
        #expect(imported.layers == [1])
        guard case let .full(w) = imported.weights else { Issue.record("not a full expert"); return }
        let e = try f.expert
        #expect(w.w1 == e.w1 && w.w2 == e.w2 && w.w3 == e.w3)
        let C = f.anchor.model.config.hiddenSize
        #expect(imported.routerRows! == Array(try f.rows[C..<2 * C]))

        var noise = SeededNoise(seed: 3)
        let r = try ContributionPipeline.contribute(anchor: f.anchor, expert: imported, data: DocumentSource(f.data),
                                                    summary: TrainingSummary(recipe: "flexolmo-v1", steps: 3, tokens: 1536, batchSize: 8, contextLength: 64,
                                                                             learningRate: 3e-3, seed: 1, finalLoss: 2),
                                                    signature: Self.signatureOptions(), out: f.dir.path + "/contributed", restart: false, workers: options(steps: 3).workers,
                                                    progress: nil, noise: &noise)
        #expect(r.publishedExpertRows)
        let ours = try SafetensorsFile(path: f.trained.bundle + "/" + BundleLayout.expertFile)
        let theirs = try SafetensorsFile(path: r.bundle + "/" + BundleLayout.expertFile)
        #expect(ours.tensors.map(\.name) == theirs.tensors.map(\.name))
        for t in ours.tensors { #expect(try ours.floats(t.name) == theirs.floats(t.name), "\(t.name)") }
        // Same anchor, data, seeded noise and worker count (the embedding sums in the same order): the
        // same signature, with the expert's rows in its layer.
        let published = try RoutingSignature.read(r.bundle + "/" + BundleLayout.routingFile).routerRows, expected = try f.rows
        #expect(published == expected)
        let key = try SigningKey.generate(name: "owner")
        try ContributionBundle.sign(directory: r.bundle, key: key, origin: "tributary.test/log")
        let verified = try ContributionBundle.verify(directory: r.bundle, keys: [key.verifierKey])
        #expect(verified.predicate.training.steps == 3)
        // The local 2-expert model loads and is the trained one.
        #expect(try ModelDirectory.load(r.model).parameters.count == ModelDirectory.load(f.trained.model).parameters.count)
    }

    /// A checkpoint as PyTorch saves it (every layer a mixture, rope_parameters, shards, BF16) is accepted
    /// when its frozen tensors are the anchor's rounded to nearest even, and refused otherwise.
    @Test func frozenTensorsMustBeTheAnchorsRoundedToTheDtype() throws {
        let f = try Self.fixture()
        let dir = f.dir.path
        try Self.writeCheckpoint(f, to: dir + "/f32", shards: true)
        #expect(try Self.read(f, dir + "/f32").layers == [1])

        try Self.writeCheckpoint(f, to: dir + "/bf16", dtype: .bf16)
        let bf16 = try Self.read(f, dir + "/bf16")
        #expect(bf16.layers == [1])
        guard case let .full(w) = bf16.weights else { Issue.record("not a full expert"); return }
        #expect(w.w2[0] == (try f.expert).w2[0].map { HalfConversion.bf16ToFloat(HalfConversion.floatToBF16($0)) })

        // BF16 by truncation is not the rounding PyTorch does: refused (and the test can fail: some element differs).
        let q = TensorNames.qProj(0)
        try Self.writeCheckpoint(f, to: dir + "/truncated", dtype: .bf16) { name, v in
            if name == q { v = v.map { Float(bitPattern: $0.bitPattern & 0xffff_0000) } }
        }
        #expect(Self.code { _ = try Self.read(f, dir + "/truncated") } == "contribute.frozen_mismatch")
        // One ulp on a shared F32 weight, on expert 0, on the anchor's router row where the expert trained.
        for (name, index) in [(TensorNames.embedTokens, 7), (TensorNames.expertW2(1, 0), 3), (TensorNames.router(1), 5)] {
            try Self.writeCheckpoint(f, to: dir + "/ulp", edit: { n, v in if n == name { v[index] = v[index].nextUp } })
            #expect(Self.code { _ = try Self.read(f, dir + "/ulp") } == "contribute.frozen_mismatch", "\(name)")
        }
        // The router of a layer where both experts are the anchor's routes to the same MLP: not checked.
        try Self.writeCheckpoint(f, to: dir + "/router0", edit: { n, v in if n == TensorNames.router(0) { v[0] += 1 } })
        #expect(try Self.read(f, dir + "/router0").layers == [1])
    }

    @Test func refusesWhatIsNotAFlexOlmoExpertOfThisAnchor() throws {
        let f = try Self.fixture()
        let dir = f.dir.path
        try Self.writeCheckpoint(f, to: dir + "/ok")
        // The policy's layers: the expert trained layer 1.
        #expect(Self.code { _ = try Self.read(f, dir + "/ok", allowed: [0]) } == "contribute.expert_outside_layers")
        #expect(try Self.read(f, dir + "/ok", allowed: [0, 1]).layers == [0, 1])
        // Nothing trained.
        try Self.writeCheckpoint(f, to: dir + "/untrained", expert: ExpertWeights(denseFFNOf: f.anchor.model, layers: [1]))
        #expect(Self.code { _ = try Self.read(f, dir + "/untrained") } == "contribute.no_expert")
        // A tensor too many, a tensor missing, a trained value that is not finite.
        var w = SafetensorsWriter(metadata: [:])
        let file = try SafetensorsFile(path: dir + "/ok/model.safetensors")
        for t in file.tensors where t.name != TensorNames.finalNorm { w.add(t.name, shape: t.shape, values: try file.floats(t)) }
        try FileManager.default.createDirectory(atPath: dir + "/missing", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/ok/config.json", toPath: dir + "/missing/config.json")
        try w.write(to: dir + "/missing/model.safetensors")
        #expect(Self.code { _ = try Self.read(f, dir + "/missing") } == "model.missing_tensor")
        w.add(TensorNames.finalNorm, shape: [f.anchor.model.config.hiddenSize], values: f.anchor.model.parameters.slice(f.anchor.model.layout.finalNorm, f.anchor.model.config.hiddenSize))
        w.add("model.rotary_emb.inv_freq", shape: [1], values: [1])
        try w.write(to: dir + "/missing/model.safetensors")
        #expect(Self.code { _ = try Self.read(f, dir + "/missing") } == "contribute.invalid_checkpoint")
        try Self.writeCheckpoint(f, to: dir + "/nan", edit: { n, v in if n == TensorNames.expertW1(1, 1) { v[2] = .nan } })
        #expect(Self.code { _ = try Self.read(f, dir + "/nan") } == "contribute.invalid_checkpoint")
        // Another model: three experts, another RoPE, the dense anchor itself.
        try AtomicFileWriter.write(JSONWriter.serialize(f.anchor.model.config.withExperts(3, topK: 2).huggingFaceJSON), to: dir + "/ok/config.json")
        #expect(Self.code { _ = try Self.read(f, dir + "/ok") } == "contribute.invalid_checkpoint")
        var other = f.anchor.model.config.withExperts(2, topK: 2)
        other.ropeTheta *= 2
        try AtomicFileWriter.write(JSONWriter.serialize(other.huggingFaceJSON), to: dir + "/ok/config.json")
        #expect(Self.code { _ = try Self.read(f, dir + "/ok") } == "contribute.invalid_checkpoint")
        #expect(Self.code { _ = try Self.read(f, f.anchor.path) } == "contribute.invalid_checkpoint")
        // A shard index may not point outside its directory.
        try Self.writeCheckpoint(f, to: dir + "/sharded", shards: true)
        let index = dir + "/sharded/model.safetensors.index.json"
        let text = try String(contentsOfFile: index, encoding: .utf8).replacingOccurrences(of: "model-00002-of-00002.safetensors", with: "../ok/model.safetensors")
        try text.write(toFile: index, atomically: true, encoding: .utf8)
        #expect(Self.code { _ = try Self.read(f, dir + "/sharded") } == "model.invalid_config")
    }

    /// A PEFT adapter's layers must be within the policy's; its router rows are the ones published.
    @Test func adapterLayersAndRows() throws {
        let f = try Self.fixture()
        let c = f.anchor.model.config
        let lora = try LoRAParameters(rank: 2, alpha: 4, targets: [.gate, .up, .down])
        let factors = LoRAFactors(shape: lora, layers: [1], a: [lora.targets.map { t in (0..<(2 * t.shape(c).in)).map { Float($0 % 5) / 50 } }],
                                  b: [lora.targets.map { t in (0..<(2 * t.shape(c).out)).map { Float($0 % 3) / 50 } }])
        let rows = (0..<c.numLayers * c.hiddenSize).map { Float($0 % 7) / 10 }
        try PEFTAdapter.write(factors, routerRows: rows, config: c, to: f.dir.path + "/adapter")
        #expect(Self.code { _ = try ExternalExpert.readAdapter(f.dir.path + "/adapter", anchor: f.anchor.model, allowed: [0]) } == "contribute.expert_outside_layers")
        let e = try ExternalExpert.readAdapter(f.dir.path + "/adapter", anchor: f.anchor.model, allowed: nil)
        let base = [Float](repeating: -1, count: rows.count)
        let C = c.hiddenSize
        #expect(e.routerRows(over: base, hidden: C) == Array(base[0..<C]) + Array(rows[C..<2 * C]))
    }
}
