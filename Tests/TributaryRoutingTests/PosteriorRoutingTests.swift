import Foundation
import Testing
import TributaryModel
@testable import TributaryRouting

/// Expert-set restriction, posterior routing and causal prefix embeddings: what the combined MoE's
/// evaluation stands on.
/// The largest difference of any token's log-probability between two scorings.
func maxDiff(_ a: TokenScores, _ b: TokenScores) -> Float {
    zip(a.logProbs, b.logProbs).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

@Suite struct PosteriorRoutingTests {
    let config = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 32)

    func text(_ seed: UInt64, documents: Int, bytes: Int) -> Corpus {
        var rng = RNG(seed: seed)
        return Corpus(documents: (0..<documents).map { d in
            .init(source: "doc\(d)", bytes: (0..<bytes + d * 7).map { _ in UInt8(97 + rng.next() % 20) })
        })
    }

    func rows(_ seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<config.numLayers * config.hiddenSize).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
    }

    /// A 4-expert merge restricted to {anchor, e} computes exactly e's own 2-expert model, and
    /// restricted to {anchor} the anchor; unrestricted it is a different model.
    @Test func restrictedMergeEqualsEachOwnersModel() throws {
        let anchor = Model.initialised(config: config, seed: 1)
        let experts = (2...4).map { ExpertWeights(denseFFNOf: Model.initialised(config: config, seed: UInt64($0))) }
        let allRows = [rows(10), rows(11), rows(12), rows(13)]
        let merged = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor)] + experts, routerRows: allRows, topK: 2)
        let corpus = text(5, documents: 3, bytes: 70)   // longer than the context: several windows
        func masks(_ set: ExpertSet) -> [[ExpertSet]] {
            corpus.documents.map { [ExpertSet](repeating: set, count: $0.bytes.count + 1) }
        }
        for e in 1...3 {
            let own = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor), experts[e - 1]],
                                                  routerRows: [allRows[0], allRows[e]], topK: 2)
            let restricted = Evaluator.tokenScores(model: merged, corpus: corpus, expertSets: masks(ExpertSet([0, e])), workers: 1)
            #expect(maxDiff(restricted, Evaluator.tokenScores(model: own, corpus: corpus, workers: 1)) < 1e-4)
        }
        let anchorOnly = Evaluator.tokenScores(model: merged, corpus: corpus, expertSets: masks(ExpertSet([0])), workers: 1)
        #expect(maxDiff(anchorOnly, Evaluator.tokenScores(model: anchor, corpus: corpus, workers: 1)) < 1e-4)
        #expect(maxDiff(Evaluator.tokenScores(model: merged, corpus: corpus, workers: 1), anchorOnly) > 1e-2)
    }

    /// With 40 experts (more than a 32-bit mask holds) the release restricted to {anchor, 35}
    /// computes expert 35's owner's 2-expert model.
    @Test func restrictionWorksBeyond32Experts() throws {
        let anchor = Model.initialised(config: config, seed: 1)
        let experts = (2...40).map { ExpertWeights(denseFFNOf: Model.initialised(config: config, seed: UInt64($0))) }
        let allRows = (0..<40).map { rows(UInt64(100 + $0)) }
        let merged = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor)] + experts, routerRows: allRows, topK: 2)
        let own = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor), experts[34]],
                                              routerRows: [allRows[0], allRows[35]], topK: 2)
        let corpus = text(6, documents: 2, bytes: 40)
        let sets = corpus.documents.map { [ExpertSet](repeating: ExpertSet([0, 35]), count: $0.bytes.count + 1) }
        let restricted = Evaluator.tokenScores(model: merged, corpus: corpus, expertSets: sets, workers: 1)
        let reference = Evaluator.tokenScores(model: own, corpus: corpus, workers: 1)
        let diff = maxDiff(restricted, reference)
        #expect(diff < 1e-4, "max |Δ log p| \(diff)")   // the same function; summation order aside
    }

    /// A shortlist naming every expert at every token is the full posterior; a shorter one runs
    /// each expert only on the documents that named it, and never lets a token use an expert
    /// shortlisted after it.
    @Test func shortlistedPosteriorMatchesTheFullOneAndIsCausal() throws {
        let anchor = Model.initialised(config: config, seed: 1)
        let experts = (2...4).map { ExpertWeights(denseFFNOf: Model.initialised(config: config, seed: UInt64($0))) }
        let merged = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor)] + experts,
                                                 routerRows: [rows(10), rows(11), rows(12), rows(13)], topK: 2)
        let corpus = text(5, documents: 3, bytes: 30)
        let counts = corpus.documents.map { $0.bytes.count + 1 }
        let routing = PosteriorRouting(experts: 4)
        let full = routing.tokenScores(model: merged, corpus: corpus, workers: 1)
        let everyone = routing.tokenScores(model: merged, corpus: corpus, shortlist: counts.map { [ExpertSet](repeating: .all, count: $0) }, workers: 1)
        let diff = maxDiff(full.scores, everyone.scores)
        #expect(diff < 1e-5 && full.shares == everyone.shares, "\(diff)")   // the same passes over the same windows
        // Document 0 names nobody, 1 names expert 2 from token 10 on, 2 names expert 3 throughout.
        let shortlist = counts.enumerated().map { d, n in
            (0..<n).map { t in d == 1 && t >= 10 ? ExpertSet([0, 2]) : d == 2 ? ExpertSet([0, 3]) : ExpertSet([0]) }
        }
        let short = routing.tokenScores(model: merged, corpus: corpus, shortlist: shortlist, workers: 1)
        let anchorScores = Evaluator.tokenScores(model: anchor, corpus: corpus, workers: 1)
        #expect(zip(short.scores.logProbs[0], anchorScores.logProbs[0]).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(short.scores.logProbs[1].prefix(10), anchorScores.logProbs[1].prefix(10)).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(short.shares[1] == 0 && short.shares[0] > 0)
    }

    /// The switching of a shortlisted posterior on made-up scores.
    @Test func shortlistedSwitchingUsesOnlyWhatWasShortlistedSoFar() {
        let anchor = TokenScores(logProbs: [[-1, -1, -1, -1]], bytes: [3])
        // Expert 2 is far better from the start, but shortlisted only from token 2 on.
        let r = PosteriorRouting.shortlistedSwitching(anchor: anchor, experts: [2: [0: [-0.1, -0.1, -0.1, -0.1]]],
                                                      shortlist: [[[], [], [2], []]], experts: 3)
        #expect(r.scores.logProbs == [[-1, -1, -0.1, -0.1]])
        #expect(r.shares == [0.5, 0, 0.5])
    }

    /// Each token goes to the candidate with the most evidence from the tokens before it.
    @Test func switchingFollowsThePrefixLikelihood() {
        // Candidate 1 is better on tokens 0-1, candidate 2 from token 2 on; the first token goes to 0.
        let a = TokenScores(logProbs: [[-1, -1, -1, -1, -1]], bytes: [4])
        let b = TokenScores(logProbs: [[-0.5, -0.5, -3, -3, -3]], bytes: [4])
        let c = TokenScores(logProbs: [[-2, -0.9, -0.1, -0.1, -0.1]], bytes: [4])
        let r = PosteriorRouting.switching([a, b, c])
        // Evidence before token t: t=1 b (−0.5); t=2 b (−1 vs a −2, c −2.9); t=3 b −4 vs c −3.0 → c; t=4 c.
        #expect(r.scores.logProbs == [[-1, -0.5, -3, -0.1, -0.1]])
        #expect(r.shares == [0.2, 0.4, 0.4])
        // Every document starts afresh.
        let two = PosteriorRouting.switching([TokenScores(logProbs: [[-1, -1], [-1, -1]], bytes: [1, 1]),
                                              TokenScores(logProbs: [[-0.1, -0.1], [-2, -2]], bytes: [1, 1])])
        #expect(two.scores.logProbs == [[-1, -0.1], [-1, -1]])
    }

    @Test func candidateSetsAreAnchorThenAnchorWithEachExpert() {
        #expect(PosteriorRouting(experts: 4).sets == [ExpertSet([0]), ExpertSet([0, 1]), ExpertSet([0, 2]), ExpertSet([0, 3])])
        #expect(PosteriorRouting(experts: 1).sets == [ExpertSet([0])])
    }

    /// The last prefix point of a document is the document's own point, and each prefix point only
    /// depends on what precedes it; in a projected space at a middle layer as in the legacy one.
    @Test(arguments: [false, true]) func prefixPointsAreCausalAndEndAtTheDocumentPoint(projected: Bool) {
        let model = Model.initialised(config: config, seed: 3)
        let corpus = text(8, documents: 2, bytes: 20)   // within one window
        let C = config.hiddenSize, d = projected ? 3 : C
        let center = (0..<C).map { Float($0) / 100 }
        let space = projected
            ? SignatureSpace(layer: 1, center: center, projection: (0..<(d * C)).map { Float(($0 * 7) % 11) / 10 - 0.5 })
            : SignatureSpace(layer: config.numLayers, center: center, projection: nil)
        let prefixes = space.prefixPoints(model: model, corpus: corpus, workers: 1)
        let points = space.embed(model: model, corpus: corpus, workers: 1)
        let stats = Evaluator.documentStatistics(model: model, corpus: corpus, workers: 1)
        for doc in 0..<2 {
            #expect(prefixes[doc].count == (corpus.documents[doc].bytes.count + 1) * d)
            let last = Array(prefixes[doc].suffix(d))
            // The same sums in another order (prefix running sums against window sums): within 1e-4 of unit vectors.
            #expect(zip(last, points[doc * d..<(doc + 1) * d]).map { abs($0 - $1) }.max()! < 1e-4)
            #expect(zip(last, space.point(of: stats[doc])).map { abs($0 - $1) }.max()! < 1e-4)
        }
        // Row j reads inputs 0...j (BOS, then bytes 0..<j): changing byte 15 (input 16) leaves rows
        // 0...15 unchanged and changes row 16. The one-document corpus runs through other batch
        // shapes than the two-document one, so sgemm may sum in another order (seen: the 8th digit
        // on AVX-512): "unchanged" means within 1e-5 of unit vectors; the change itself is far larger.
        var bytes = corpus.documents[0].bytes
        bytes[15] = bytes[15] == 97 ? 98 : 97
        let changed = space.prefixPoints(model: model, corpus: Corpus(documents: [.init(source: "x", bytes: bytes)]), workers: 1)
        func maxDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
        #expect(maxDiff(changed[0].prefix(16 * d), prefixes[0].prefix(16 * d)) < 1e-5)
        #expect(maxDiff(changed[0][16 * d..<17 * d], prefixes[0][16 * d..<17 * d]) > 1e-3)
    }
}
