import Foundation
import Testing
import TributaryContribution
import TributaryCore
import TributaryDevTools
import TributaryModel
import TributaryRouting
@testable import TributaryDemo
import TributaryHarness
import TributaryTestSupport

/// Held-out documents of the three demo domains (Linux UAPI headers, Python source, glibc locales — Debian
/// packages scripts/setup.sh installs), routed by their DP routing signatures against a small anchor
/// trained on public prose. The figure is printed; the full-size run is in the demo's report.
@Suite struct RoutingAccuracyTests {
    @Test func eachDomainGoesToItsExpertFarMoreOftenThanChance() throws {
        let work = scratchPath("routing-acc")
        defer { try? FileManager.default.removeItem(atPath: work) }
        try DemoCorpora(documentsPerDomain: 300, bytesPerDocument: 3000, publicBytes: 1_200_000).prepare(workdir: work)
        let config = ModelConfig(hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 128, contextLength: 64)
        var o = TrainingOptions()
        o.steps = 500
        o.batchSize = 16
        o.seqLen = 64
        o.learningRate = 3e-3
        o.warmupSteps = 20
        o.checkpointEvery = 0
        let publicText = try Corpus.load(paths: [DemoCorpora.directory(work, DemoCorpora.publicDomain)])
        _ = try AnchorTraining.train(config: config, train: publicText, heldOut: nil, options: o, clusters: 8, out: work + "/anchor",
                                     restart: false, progress: nil)
        let a = try AnchorDirectory.load(work + "/anchor")
        let pub = try a.publicCentroids()
        var experts: [RoutingIndex.Expert] = [.init(name: "anchor", centroids: pub.centroids, counts: pub.counts)]
        var held = [(name: String, corpus: Corpus)]()
        var sig = SignatureOptions()
        sig.epsilon = 1
        let plan = try SignatureBuilder.plan(sig)
        for (i, d) in DemoCorpora.privateDomains.enumerated() {
            let (train, test) = try Corpus.load(paths: [DemoCorpora.directory(work, d.name)]).split(heldOutFraction: 0.2)
            let stats = Evaluator.documentStatistics(model: a.model, corpus: train)
            var noise = SeededNoise(seed: UInt64(i + 1))
            let s = try SignatureBuilder.build(stats: SignatureStatistics(stats, space: a.space, layers: config.numLayers, hidden: config.hiddenSize),
                                               options: sig, plan: plan, noise: &noise)
            experts.append(.init(name: d.name, centroids: s.centroids, counts: s.counts))
            held.append((d.name, test))
        }
        let acc = RoutingAccuracy.measure(anchor: a.model, index: RoutingIndex(space: a.space, experts: experts),
                                          heldOut: held)
        print("routing accuracy at ε = 1 (small test anchor): " + acc.summary)
        #expect(acc.candidates == 4)
        #expect(acc.accuracy > 0.6)
        for d in acc.perDomain { #expect(Double(d.correct) / Double(d.total) > 0.4, "\(d.name): \(d.correct)/\(d.total)") }
    }
}
