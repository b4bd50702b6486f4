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

    /// The anchor's routing file holds unit router rows per layer, the signature space fitted on the
    /// public text (as many whitened dimensions as 24 documents give: three) and the requested number of public
    /// centroids in it, loads back as the anchor's, and is part of the anchor's identity.
    @Test func anchorRoutingEntryIsComplete() throws {
        let dir = TempDir()
        let text = Corpus(documents: (0..<24).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "public \($0) text. ", count: 9).utf8)) })
        let a = try anchor(dir, public: text, steps: 3)
        let C = tiny.hiddenSize, L = tiny.numLayers
        #expect(a.routerRows.count == L * C && a.space.center.count == C)
        let d = min(SignatureSpace.Recipe().dimension, C, 24 / 8)
        #expect(a.space.projection?.count == d * C && a.space.parameters == SignatureSpaceParameters(layer: a.space.layer, dimension: d))
        // Unit up to Float rounding of a normalisation.
        for l in 0..<L { #expect(abs(VectorMath.norm(Array(a.routerRows[l * C..<(l + 1) * C])) - 1) < 1e-5) }
        let pub = try a.publicCentroids()
        #expect(pub.counts.count == 2 && pub.centroids.count == 2 * d)
        #expect(pub.counts.reduce(0, +) == 24)
        #expect(a.digest == (try AnchorDirectory.digest(dir.path + "/anchor")))
        #expect(a.digest != (try ModelFiles.identity(of: dir.path + "/anchor")))
        // The routing file is part of the identity: another space is another anchor.
        let routing = dir.path + "/anchor/" + AnchorDirectory.routingFile
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: routing)))
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: routing))
        #expect(a.digest != (try AnchorDirectory.digest(dir.path + "/anchor")))
    }
}
