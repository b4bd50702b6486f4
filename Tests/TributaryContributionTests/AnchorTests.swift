import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution

@Suite struct AnchorTests {
    @Test func anchorMustBeDenseAndComplete() throws {
        let dir = TempDir()
        try ModelDirectory.save(Model.initialised(config: tiny.withExperts(2, topK: 2), seed: 1), to: dir.path + "/moe")
        #expect(throws: TributaryError.self) { _ = try AnchorDirectory.load(dir.path + "/moe") }
        try ModelDirectory.save(Model.initialised(config: tiny, seed: 1), to: dir.path + "/norouting")
        #expect(throws: TributaryError.self) { _ = try AnchorDirectory.load(dir.path + "/norouting") }
    }

    /// The anchor's routing file holds unit router rows per layer, the public embedding centre and
    /// the requested number of public centroids, and loads back as the anchor's.
    @Test func anchorRoutingEntryIsComplete() throws {
        let dir = TempDir()
        let text = Corpus(documents: (0..<12).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "public \($0) text. ", count: 9).utf8)) })
        let a = try anchor(dir, public: text, steps: 3)
        let C = tiny.hiddenSize, L = tiny.numLayers
        #expect(a.routerRows.count == L * C && a.embeddingCenter.count == C)
        // Unit up to Float rounding of a normalisation.
        for l in 0..<L { #expect(abs(VectorMath.norm(Array(a.routerRows[l * C..<(l + 1) * C])) - 1) < 1e-5) }
        let pub = try a.publicCentroids()
        #expect(pub.counts.count == 2 && pub.centroids.count == 2 * C)
        #expect(pub.counts.reduce(0, +) == 12)
        #expect(a.digest == (try AnchorDirectory.digest(dir.path + "/anchor")))
    }
}
