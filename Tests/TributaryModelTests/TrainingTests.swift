import Foundation
@_exported import TributaryTestSupport
import Testing
import TributaryCore
@testable import TributaryModel

let tinyConfig = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 32)

func corpus(_ texts: [String]) -> Corpus {
    Corpus(documents: texts.enumerated().map { Corpus.Document(source: "doc\($0.offset)", bytes: Array($0.element.utf8)) })
}

func tinyOptions(steps: Int, lr: Float = 3e-3, seed: UInt64 = 1) -> TrainingOptions {
    var o = TrainingOptions()
    o.steps = steps
    o.batchSize = 4
    o.seqLen = 32
    o.learningRate = lr
    o.warmupSteps = 5
    o.seed = seed
    o.workers = 2
    o.checkpointEvery = 0
    return o
}

/// How many positions differ bitwise (or the length difference): small output when a test fails.
func differences(_ a: [Float], _ b: [Float]) -> Int {
    guard a.count == b.count else { return max(a.count, b.count) }
    return zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
}

let pangrams = ["The quick brown fox jumps over the lazy dog. ", "Pack my box with five dozen liquor jugs! ",
                "How vexingly quick daft zebras jump; ", "Sphinx of black quartz, judge my vow. "]

/// A dense tiny anchor trained briefly on the pangrams, with router rows from its first document's
/// hidden states (any unit rows do for these tests).
func tinyAnchor(steps: Int = 30) throws -> ExpertTraining.Anchor {
    let text = corpus(pangrams.map { String(repeating: $0, count: 6) })
    let model = Model.initialised(config: tinyConfig, seed: 1)
    let b = try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 1)
    _ = try Trainer(model: model, mode: .full, options: tinyOptions(steps: steps), batcher: b, checkpointDirectory: nil,
                    baseFingerprint: "t", dataFingerprint: "d").run()
    let stats = Evaluator.documentStatistics(model: model, corpus: text, workers: 1)
    return ExpertTraining.Anchor(model: model, routerRows: VectorMath.normalizedPerRow(stats[0].layerMeans, rows: tinyConfig.numLayers,
                                                                                      cols: tinyConfig.hiddenSize), identity: "tiny")
}

/// Some other unit router rows for an owner.
func ownerRows(_ anchor: ExpertTraining.Anchor, _ data: Corpus) -> [Float] {
    let stats = Evaluator.documentStatistics(model: anchor.model, corpus: data, workers: 1)
    return VectorMath.normalizedPerRow(stats[0].layerMeans, rows: tinyConfig.numLayers, cols: tinyConfig.hiddenSize)
}

@Suite struct TrainingTests {
    @Test func tinyModelOverfitsAShortText() throws {
        let text = corpus(["Tributary experts learn apart and route together. " + "abcdefghijklmnopqrstuvwxyz 0123456789."])
        var o = tinyOptions(steps: 300, lr: 1e-2)
        o.weightDecay = 0
        o.minLRFraction = 1
        let model = Model.initialised(config: tinyConfig, seed: 3)
        let batcher = try Batcher(stream: text.tokenStream(.bytes), batch: o.batchSize, seqLen: 32, seed: 3)
        let trainer = try Trainer(model: model, mode: .full, options: o, batcher: batcher, checkpointDirectory: nil,
                                  baseFingerprint: "t", dataFingerprint: text.fingerprint)
        let r = try trainer.run()
        #expect(r.losses.first! > 4)
        #expect(r.finalLoss < 0.1, "final loss \(r.finalLoss)")
    }

    @Test func sameSeedGivesIdenticalWeights() throws {
        func train() throws -> [Float] {
            let text = corpus(pangrams)
            let model = Model.initialised(config: tinyConfig, seed: 5)
            let b = try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 5)
            _ = try Trainer(model: model, mode: .full, options: tinyOptions(steps: 8), batcher: b, checkpointDirectory: nil,
                            baseFingerprint: "t", dataFingerprint: "d").run()
            return model.parameters.array
        }
        let a = try train(), b = try train()
        #expect(differences(a, b) == 0)
        #expect(differences(a, Model.initialised(config: tinyConfig, seed: 5).parameters.array) > 0)
    }

    @Test func resumeAfterStopMatchesUninterruptedRunBitForBit() throws {
        let dir = TempDir()
        let text = corpus(pangrams)
        func run(stopAfter: Int?, checkpoints: String?) throws -> (Model, TrainingResult) {
            let model = Model.initialised(config: tinyConfig, seed: 9)
            var o = tinyOptions(steps: 12)
            o.checkpointEvery = 4
            o.stopAfter = stopAfter
            let b = try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 9)
            let t = try Trainer(model: model, mode: .full, options: o, batcher: b, checkpointDirectory: checkpoints,
                                baseFingerprint: "seed9", dataFingerprint: text.fingerprint)
            return (model, try t.run())
        }
        let (reference, refResult) = try run(stopAfter: nil, checkpoints: nil)
        let (_, partial) = try run(stopAfter: 6, checkpoints: dir.path)   // killed after step 6; last checkpoint at 4
        #expect(partial.stoppedEarly)
        let (resumed, result) = try run(stopAfter: nil, checkpoints: dir.path)
        #expect(result.resumedFrom == 4)
        #expect(differences(resumed.parameters.array, reference.parameters.array) == 0)
        #expect(result.losses == refResult.losses)
    }

    @Test func checkpointOfAnotherRunIsRefused() throws {
        let dir = TempDir()
        let text = corpus(pangrams)
        var o = tinyOptions(steps: 4)
        o.checkpointEvery = 2
        let b = try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 1)
        _ = try Trainer(model: Model.initialised(config: tinyConfig, seed: 1), mode: .full, options: o, batcher: b,
                        checkpointDirectory: dir.path, baseFingerprint: "a", dataFingerprint: "d").run()
        o.learningRate = 1e-2
        let other = try Trainer(model: Model.initialised(config: tinyConfig, seed: 1), mode: .full, options: o, batcher: b,
                                checkpointDirectory: dir.path, baseFingerprint: "a", dataFingerprint: "d")
        #expect(throws: TributaryError.self) { _ = try other.run() }
    }

    @Test func expertTrainingLeavesEverythingFrozenBitIdentical() throws {
        let anchor = try tinyAnchor()
        let data = corpus(["int main(void) { return 0; }\n", "#include <stdio.h>\nint x = 1;\n", "static int f(int a) { return a * 2; }\n"]
            .map { String(repeating: $0, count: 8) })
        let r = try ExpertTraining.train(anchor: anchor, data: data, routerRows: ownerRows(anchor, data), options: tinyOptions(steps: 15),
                                         checkpointDirectory: nil, restart: false, progress: nil)
        let m = r.model, a = anchor.model
        // Shared weights, expert 0 and router row 0 are exactly the anchor's.
        for t in a.layout.tensors where !t.name.contains("mlp.") {
            #expect(differences(m.values(of: t.name)!, a.values(of: t.name)!) == 0, "\(t.name) changed")
        }
        let anchorFFN = ExpertWeights(denseFFNOf: a), e0 = ExpertWeights(expert: 0, of: m), e1 = ExpertWeights(expert: 1, of: m)
        #expect(differences(e0.w1.flatMap { $0 }, anchorFFN.w1.flatMap { $0 }) == 0)
        #expect(differences(e0.w2.flatMap { $0 }, anchorFFN.w2.flatMap { $0 }) == 0)
        #expect(differences(e0.w3.flatMap { $0 }, anchorFFN.w3.flatMap { $0 }) == 0)
        let rows = ExpertAssembly.routerRows(of: m)
        #expect(differences(rows[0], anchor.routerRows) == 0)
        // What trains did train.
        #expect(differences(e1.w1.flatMap { $0 }, anchorFFN.w1.flatMap { $0 }) > 0)
        #expect(differences(rows[1], r.initialRouterRows) > 0)
        #expect(r.training.finalLoss < r.training.losses.first!)
    }

    /// The same computation twice: bit-identical, whatever the CPU.
    @Test func expertTrainingIsDeterministic() throws {
        let anchor = try tinyAnchor(steps: 10)
        let data = corpus(pangrams.map { $0.uppercased() })
        let rows = ownerRows(anchor, data)
        let a = try ExpertTraining.train(anchor: anchor, data: data, routerRows: rows, options: tinyOptions(steps: 5), checkpointDirectory: nil, restart: false, progress: nil)
        let b = try ExpertTraining.train(anchor: anchor, data: data, routerRows: rows, options: tinyOptions(steps: 5), checkpointDirectory: nil, restart: false, progress: nil)
        #expect(differences(a.model.parameters.array, b.model.parameters.array) == 0)
    }

    /// `routerLearningRate` moves the router row at its own rate and the expert at `learningRate`:
    /// a tenth of the rate moves the row about a tenth as far (Adam's steps scale with the rate), the
    /// expert's weights exactly as before over the first step (identical batch, identical gradient).
    @Test func theRouterRowTrainsAtItsOwnLearningRate() throws {
        let anchor = try tinyAnchor(steps: 10)
        let data = corpus(["int main(void) { return 0; }\n", "#include <stdio.h>\nint x = 1;\n"].map { String(repeating: $0, count: 8) })
        let rows = ownerRows(anchor, data)
        func train(routerLR: Float?) throws -> ExpertTraining.Result {
            var o = tinyOptions(steps: 1)
            o.routerLearningRate = routerLR
            return try ExpertTraining.train(anchor: anchor, data: data, routerRows: rows, options: o, checkpointDirectory: nil, restart: false, progress: nil)
        }
        let same = try train(routerLR: nil), slow = try train(routerLR: tinyOptions(steps: 1).learningRate / 10)
        func moved(_ r: ExpertTraining.Result) -> Double {
            zip(r.trainedRouterRows, rows).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
        }
        let ratio = moved(slow) / moved(same)
        // One Adam step moves each coordinate by lr · g/|g| (up to ε), so the ratio is 1/10 to a few parts in 10⁶.
        #expect(abs(ratio - 0.1) < 1e-3, "router row moved \(ratio) as far at a tenth of the rate")
        #expect(differences(slow.expert.w1.flatMap { $0 }, same.expert.w1.flatMap { $0 }) == 0)
        var bad = tinyOptions(steps: 1)
        bad.routerLearningRate = -1
        #expect(throws: TributaryError.self) { try bad.validate(contextLength: 64) }
    }

    /// With router rows published as the DP mean (`--router-rows dp-mean`) the rows stay frozen, but
    /// public text is still replayed into the expert: the bug was that replay silently switched off.
    @Test func publicReplayRunsWhenRouterRowsAreFrozen() throws {
        let anchor = try tinyAnchor(steps: 10)
        let data = corpus(["int main(void) { return 0; }\n", "#include <stdio.h>\nint x = 1;\n"].map { String(repeating: $0, count: 8) })
        let publicText = corpus(pangrams.map { String(repeating: $0, count: 4) })
        let rows = ownerRows(anchor, data)
        func train(_ replay: Corpus?) throws -> ExpertTraining.Result {
            try ExpertTraining.train(anchor: anchor, data: data, routerRows: rows, trainRouter: false, publicText: replay,
                                     options: tinyOptions(steps: 6), checkpointDirectory: nil, restart: false, progress: nil)
        }
        let without = try train(nil), with = try train(publicText)
        // Frozen rows are exactly the initial ones either way.
        #expect(differences(with.trainedRouterRows, rows) == 0)
        #expect(differences(without.trainedRouterRows, rows) == 0)
        // Replay steps trained the expert on other batches, so it ends elsewhere.
        #expect(differences(with.expert.w1.flatMap { $0 }, without.expert.w1.flatMap { $0 }) > 0)
    }
}

@Suite struct InputValidationTests {
    @Test func emptyCorpusIsAClearError() throws {
        let dir = TempDir()
        #expect(throws: TributaryError.self) { _ = try Corpus.load(paths: [dir.path]) }
        #expect(throws: TributaryError.self) { _ = try Corpus.load(paths: [dir.path + "/missing"]) }
        #expect(throws: TributaryError.self) { _ = try Batcher(stream: [1, 2, 3], batch: 1, seqLen: 8, seed: 1) }
    }

    @Test func nonUTF8BytesAreFine() throws {
        let dir = TempDir()
        try AtomicFileWriter.write([UInt8](repeating: 0xff, count: 40) + [0xc3, 0x28, 0x00, 0x80] + Array(repeating: 65, count: 40),
                                   to: dir.path + "/binary.bin")
        let c = try Corpus.load(paths: [dir.path])
        #expect(c.documents.count == 1)
        #expect(c.tokenStream(.bytes).count == 86)
        #expect(c.tokenStream(.bytes).allSatisfy { $0 >= 0 && $0 < 258 })
    }

    @Test func splitIsDeterministicByContent() {
        let c = corpus((0..<200).map { "document number \($0) with some text" })
        let (t1, h1) = c.split(heldOutFraction: 0.2)
        let (t2, h2) = corpus(c.documents.reversed().map { String(decoding: $0.bytes, as: UTF8.self) }).split(heldOutFraction: 0.2)
        #expect(Set(h1.documents.map(\.bytes)) == Set(h2.documents.map(\.bytes)))
        #expect(t1.documents.count == t2.documents.count)
        #expect(h1.documents.count > 20 && h1.documents.count < 60)
    }

    @Test func modelDirectoryRoundTripAndMismatches() throws {
        let dir = TempDir()
        let m = Model.initialised(config: tinyConfig.withExperts(3, topK: 2), seed: 4)
        try ModelDirectory.save(m, to: dir.path + "/m")
        let back = try ModelDirectory.load(dir.path + "/m")
        #expect(back.config == m.config)
        #expect(differences(back.parameters.array, m.parameters.array) == 0)
        // A weights file that does not fit the config.
        let dense = Model.initialised(config: tinyConfig, seed: 4)
        try ModelDirectory.save(dense, to: dir.path + "/d")
        try FileManager.default.removeItem(atPath: dir.path + "/d/config.json")
        try FileManager.default.copyItem(atPath: dir.path + "/m/config.json", toPath: dir.path + "/d/config.json")
        #expect(throws: TributaryError.self) { _ = try ModelDirectory.load(dir.path + "/d") }
        #expect(throws: TributaryError.self) { _ = try ModelDirectory.load(dir.path + "/nowhere") }
    }

    @Test func expertThatDoesNotFitTheAnchorIsRefused() throws {
        let anchor = Model.initialised(config: tinyConfig, seed: 1)
        let other = Model.initialised(config: ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 48, contextLength: 32), seed: 1)
        let rows = [Float](repeating: 0, count: 2 * 32)
        #expect(throws: TributaryError.self) {
            _ = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor), ExpertWeights(denseFFNOf: other)],
                                            routerRows: [rows, rows], topK: 2)
        }
    }
}
