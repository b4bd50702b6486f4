import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution

/// Router tuning keeps the proxy samples the signatures place nearest their own expert.
@Suite struct ProxySelectionTests {
    @Test func theSamplesNearestTheirExpertsCentroidsAreKept() throws {
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<24).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "public anchor text number \($0). ", count: 20).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 5)
        let texts = ["int f(void) { return 0; }\n", "Permission is hereby granted, free of charge. ", "#include <stdio.h>\nint x;\n", "public anchor text number 3. "]
        let samples = texts.map { a.model.tokenizer.encode(Array(String(repeating: $0, count: 6).utf8)) }
        let d = a.space.dimension
        let points = a.space.embed(model: a.model, texts: samples.map { String(decoding: a.model.tokenizer.decode($0), as: UTF8.self) })
        func point(_ i: Int) -> [Float] { Array(points[i * d..<(i + 1) * d]) }
        // Expert 1's centroid is sample 2's point, expert 2's sample 1's, the anchor's sample 3's; expert 3 kept none.
        let index = RoutingIndex(space: a.space, experts: [
            .init(name: "anchor", centroids: point(3), counts: [10]),
            .init(name: "one", centroids: point(2), counts: [10]),
            .init(name: "two", centroids: point(1), counts: [10]),
            .init(name: "three", centroids: [], counts: []),
        ])
        #expect(ProxySelection.choose(samples, expert: 1, keep: 1, index: index, anchor: a.model) == [2])
        #expect(ProxySelection.choose(samples, expert: 2, keep: 1, index: index, anchor: a.model) == [1])
        let two = ProxySelection.choose(samples, expert: 1, keep: 2, index: index, anchor: a.model)
        #expect(two.count == 2 && two.contains(2) && two == two.sorted())
        #expect(ProxySelection.choose(samples, expert: 3, keep: 2, index: index, anchor: a.model) == [0, 1])
        #expect(ProxySelection.choose(samples, expert: 1, keep: 4, index: index, anchor: a.model) == [0, 1, 2, 3])
    }

    @Test func theRecipeWritesCandidatesOnlyWhenUsedAndRefusesTooFew() throws {
        var r = RouterTuningRecipe()
        #expect(!JSONWriter.string(r.json).contains("candidatesPerExpert") && r.samplesDrawn == r.samplesPerExpert)
        r.candidatesPerExpert = 3 * r.samplesPerExpert
        #expect(try RouterTuningRecipe(json: r.json, path: "r") == r && r.samplesDrawn == r.candidatesPerExpert)
        r.candidatesPerExpert = r.samplesPerExpert - 1
        #expect(throws: TributaryError.self) { try r.validate() }
    }
}
