import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

struct TokenMomentsTests {
    @Test func choleskySolvesSymmetricPositiveDefiniteSystems() throws {
        var rng = RNG(seed: 3)
        let n = 12
        let b = (0..<n * n).map { _ in rng.uniformDouble() - 0.5 }
        // A = BᵀB + I is symmetric positive definite.
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += b[k * n + i] * b[k * n + j] } }; a[i * n + i] += 1 }
        let x = (0..<n).map { Double($0) - 5.5 }
        let rhs = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * x[$1] } }
        let solved = try #require(SymmetricSolve.solve(a, rhs, n: n))
        for i in 0..<n { #expect(abs(solved[i] - x[i]) < 1e-9) }
        // Not positive definite: refused rather than answered wrongly.
        #expect(SymmetricSolve.solve([1, 2, 2, 1], [1, 1], n: 2) == nil)
    }

    /// The token-level mean must equal the token-weighted mean of the per-document means, which
    /// `documentStatistics` computes through a different path (documents shorter than the context).
    @Test func momentsAgreeWithDocumentStatistics() {
        let model = Model.initialised(config: tinyConfig, seed: 5)
        let docs = corpus(["the quick brown fox", "#include <stdio.h>", "def f(x):\n    return x"])
        let m = Evaluator.tokenMoments(model: model, corpus: docs, workers: 2)
        let stats = Evaluator.documentStatistics(model: model, corpus: docs, workers: 2)
        let C = tinyConfig.hiddenSize, L = tinyConfig.numLayers
        #expect(m.tokens == stats.reduce(0) { $0 + $1.tokens })
        let total = Double(m.tokens)
        for i in 0..<L * C {
            let expected = stats.reduce(0.0) { $0 + Double($1.layerMeans[i]) * Double($1.tokens) } / total
            #expect(abs(m.mean[i] - expected) < 1e-4, "component \(i)")
        }
        // Covariance is symmetric with a non-negative diagonal.
        let cov = m.covariance
        for l in 0..<L { for i in 0..<C {
            #expect(cov[(l * C + i) * C + i] >= -1e-6)
            for j in 0..<i { #expect(abs(cov[(l * C + i) * C + j] - cov[(l * C + j) * C + i]) < 1e-6) }
        } }
    }

    /// Per-token scores (what the demo's mixtures are built from) add up to the evaluator's bits per byte.
    @Test func tokenScoresAgreeWithTheEvaluator() {
        let model = Model.initialised(config: tinyConfig, seed: 9)
        let docs = corpus(["some prose to score, long enough to need more than one window of thirty-two bytes", "int x;", "x = 1"])
        let direct = Evaluator.evaluate(model: model, corpus: docs).bitsPerByte
        let scores = Evaluator.tokenScores(model: model, corpus: docs)
        #expect(abs(scores.bitsPerByte() - direct) < 1e-4 * direct, "\(scores.bitsPerByte()) vs \(direct)")
        // A uniform mixture of one model with itself is that model.
        let mixed = TokenScores.mixtureBitsPerByte([scores, scores], weights: docs.documents.map { _ in [(0, 0.5), (1, 0.5)] })
        #expect(abs(mixed - direct) < 1e-4 * direct)
    }
}
