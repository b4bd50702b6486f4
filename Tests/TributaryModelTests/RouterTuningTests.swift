import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// Router tuning trains the contributed router rows and nothing else, on text sampled from what each
/// owner published (by default its expert alone in the anchor).
@Suite struct RouterTuningTests {
    let c = corpus(["int main(void) { return 0; }\n", "#include <stdio.h>\nint x = 1;\n"].map { String(repeating: $0, count: 8) })
    let legal = corpus(["Permission is hereby granted, free of charge, to any person. ", "THE SOFTWARE IS PROVIDED AS IS. "]
        .map { String(repeating: $0, count: 8) })

    /// 4 samples of 60 tokens per expert, 20 steps of 4 × 32 at 1e-2, no public text.
    static var recipe: RouterTuningRecipe {
        var r = RouterTuningRecipe()
        r.samplesPerExpert = 4
        r.sampleTokens = 60
        r.steps = 20
        r.batchSize = 4
        r.seqLen = 32
        r.learningRate = 1e-2
        r.publicEvery = 0
        return r
    }

    func release() throws -> (anchor: ExpertTraining.Anchor, owners: [Model], combined: Model) {
        let anchor = try tinyAnchor()
        let owners = try [c, legal].map {
            try ExpertTraining.train(anchor: anchor, data: $0, routerRows: ownerRows(anchor, $0), options: tinyOptions(steps: 15),
                                     checkpointDirectory: nil, restart: false, progress: nil)
        }
        let combined = try ExpertAssembly.combine(anchor: anchor.model, anchorRows: anchor.routerRows, experts: owners.map(\.expert),
                                                  rows: owners.map(\.trainedRouterRows), topK: 2)
        return (anchor, owners.map(\.model), combined)
    }

    @Test func restrictingTheReleaseGivesEachOwnersModel() throws {
        let (_, owners, combined) = try release()
        for e in 1...2 {
            let restricted = try ExpertAssembly.restricted(combined, to: [0, e])
            // Same weights in the same places, computed the same way: equal up to summation order.
            let a = Evaluator.tokenScores(model: restricted, corpus: c, workers: 1), b = Evaluator.tokenScores(model: owners[e - 1], corpus: c, workers: 1)
            let diff = zip(a.logProbs, b.logProbs).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
            #expect(diff < 1e-5)
        }
        #expect(throws: TributaryError.self) { _ = try ExpertAssembly.restricted(combined, to: [1, 2]) }
        #expect(throws: TributaryError.self) { _ = try ExpertAssembly.restricted(combined, to: [0, 3]) }
    }

    @Test func tuningTrainsOnlyTheContributedRowsAndFitsTheProxyText() throws {
        let (_, _, combined) = try release()
        let recipe = Self.recipe
        let proxy = try (1...2).flatMap { try RouterTuning.proxySamples(model: combined, expert: $0, recipe: recipe) }
        #expect(proxy.count == 8 && proxy.allSatisfy { $0.count <= 60 })
        let owners = [1, 1, 1, 1, 2, 2, 2, 2]
        #expect(try RouterTuning.proxySamples(model: combined, expert: 1, recipe: recipe) == Array(proxy.prefix(4)))
        let (tuned, _) = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: owners, publicTokens: nil, recipe: recipe, progress: nil)
        for t in combined.layout.tensors where !t.name.hasSuffix("gate.weight") {
            #expect(differences(tuned.values(of: t.name)!, combined.values(of: t.name)!) == 0, "\(t.name) changed")
        }
        let before = ExpertAssembly.routerRows(of: combined), after = ExpertAssembly.routerRows(of: tuned)
        #expect(differences(after[0], before[0]) == 0)
        // Every expert layer's rows of both contributed experts trained.
        let C = combined.config.hiddenSize
        for e in 1...2 {
            for l in combined.config.moeLayers.indices {
                #expect(differences(Array(after[e][l * C..<(l + 1) * C]), Array(before[e][l * C..<(l + 1) * C])) > 0, "expert \(e) layer \(l)")
            }
        }
        // What it trained for: the release explains its owners' samples better than before.
        let text = Corpus(documents: proxy.enumerated().map { .init(source: "s\($0.offset)", bytes: combined.tokenizer.decode($0.element)) })
        let untunedBPB = Evaluator.tokenScores(model: combined, corpus: text, workers: 1).bitsPerByte()
        let tunedBPB = Evaluator.tokenScores(model: tuned, corpus: text, workers: 1).bitsPerByte()
        #expect(tunedBPB < untunedBPB, "\(tunedBPB) vs \(untunedBPB)")
        #expect(throws: TributaryError.self) { _ = try RouterTuning.tune(model: combined, proxy: [[1, 2]], proxyExperts: [1], publicTokens: nil, recipe: recipe, progress: nil) }
        var bad = recipe
        bad.publicEvery = 1
        #expect(throws: TributaryError.self) { _ = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: owners, publicTokens: nil, recipe: bad, progress: nil) }
    }

    /// With the routing loss, more of each proxy token's routing stays within {anchor, its own expert}
    /// (the other contributed expert has the smallest of the three logits) than the next-token loss
    /// alone leaves it.
    @Test func theRoutingLossSendsEachExpertsProxyTextToIt() throws {
        let (_, _, combined) = try release()
        var recipe = Self.recipe
        let proxy = try (1...2).flatMap { try RouterTuning.proxySamples(model: combined, expert: $0, recipe: recipe) }
        let owners = [1, 1, 1, 1, 2, 2, 2, 2]
        let plain = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: owners, publicTokens: nil, recipe: recipe, progress: nil).model
        recipe.routingLossWeight = 1
        let routed = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: owners, publicTokens: nil, recipe: recipe, progress: nil).model
        /// Over every expert layer and proxy token, how often the other contributed expert ranks last.
        func ownWins(_ m: Model) -> Double {
            let C = m.config.hiddenSize
            var wins = 0, total = 0
            for (sample, e) in zip(proxy, owners) {
                let doc = Array(sample.prefix(m.config.contextLength))
                let acts = Activations(config: m.config, batch: 1, seqLen: doc.count, training: false)
                let ids = doc, zeros = [Int32](repeating: 0, count: doc.count)
                ids.withUnsafeBufferPointer { i in zeros.withUnsafeBufferPointer { acts.load(tokens: i, targets: $0) } }
                _ = m.forward(acts, computeLoss: false) { l, x in
                    guard l < m.config.numLayers, m.layout.layers[l].isMoE else { return }
                    let router = m.pointer(m.layout.layers[l].router)
                    for t in 0..<doc.count {
                        let z = (0..<3).map { FastMath.dot(x + t * C, router + $0 * C, C) }
                        wins += z[3 - e] < z[0] && z[3 - e] < z[e] ? 1 : 0
                        total += 1
                    }
                }
            }
            return Double(wins) / Double(total)
        }
        let before = ownWins(combined), withoutLoss = ownWins(plain), withLoss = ownWins(routed)
        #expect(withLoss > withoutLoss + 0.05 && withLoss > before + 0.05, "routed within {anchor, own expert}: untuned \(before), next-token loss \(withoutLoss), with the routing loss \(withLoss)")
        // The recipe records the weight, and a recipe without the key (before the routing loss) reads as 0.
        #expect(try RouterTuningRecipe(json: recipe.json, path: "r") == recipe)
        #expect(try RouterTuningRecipe(json: RouterTuningRecipe().json, path: "r").routingLossWeight == 0)
        #expect(!JSONWriter.string(RouterTuningRecipe().json).contains("routingLossWeight"))
        var bad = recipe
        bad.routingLossWeight = -1
        #expect(throws: TributaryError.self) { _ = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: owners, publicTokens: nil, recipe: bad, progress: nil) }
        #expect(throws: TributaryError.self) { _ = try RouterTuning.tune(model: combined, proxy: proxy, proxyExperts: [1], publicTokens: nil, recipe: recipe, progress: nil) }
    }
}
