import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryRouting

/// The membership game on published centroids. An attacker who knows every document but one (and the
/// public algorithm and seed) sees the release and must guess whether that one was in. Its score is how
/// much closer the released centroids are to the target than the centroids it computes itself without
/// the target: exact when there is no noise, drowned by it with DP.
@Suite struct MembershipInferenceTests {
    static let C = 16, n = 300, clusters = 3, iterations = 3

    /// Area under the ROC curve (Mann–Whitney U, ties count one half).
    static func auc(_ scores: [(score: Double, member: Bool)]) -> Double {
        let pos = scores.filter(\.member).map(\.score), neg = scores.filter { !$0.member }.map(\.score)
        var wins = 0.0
        for p in pos { for q in neg { wins += p > q ? 1 : (p == q ? 0.5 : 0) } }
        return wins / Double(pos.count * neg.count)
    }

    static func attack(trials: Int, sumNoise noise: Double?, minClusterSize: Int) -> Double {
        var results = [(Double, Bool)]()
        for t in 0..<trials {
            let (all, _, _) = syntheticEmbeddings(n: n + 1, C: C, k: clusters, spread: 0.5, seed: UInt64(1000 + t))
            let others = Array(all[0..<n * C]), target = Array(all[n * C..<(n + 1) * C])
            let member = t % 2 == 0
            let algorithm = LloydClustering(clusters: clusters, iterations: iterations, sumNoise: noise,
                                            countNoise: noise.map { $0 * DPSchedule.countNoiseWeight }, minClusterSize: minClusterSize, initSeed: 42)
            var rng = SeededNoise(seed: UInt64(50_000 + t))
            let released = algorithm.fit(points: member ? others + target : others, dimension: C, noise: &rng)
            var none = SeededNoise(seed: 0)
            let guessWithout = LloydClustering(clusters: clusters, iterations: iterations, sumNoise: nil, countNoise: nil, minClusterSize: 1, initSeed: 42)
                .fit(points: others, dimension: C, noise: &none)
            func closest(_ r: LloydClustering.Result) -> Double {
                (0..<r.k).map { j in (0..<C).reduce(0.0) { $0 + Double(r.centroids[j * C + $1]) * Double(target[$1]) } }.max() ?? -1
            }
            results.append((closest(released) - closest(guessWithout), member))
        }
        return auc(results)
    }

    @Test func withoutDPTheAttackerWins() {
        let a = Self.attack(trials: 200, sumNoise: nil, minClusterSize: 1)
        print("membership AUC without DP, min cluster size 1, 200 trials: \(a)")
        #expect(a > 0.9, "AUC without DP = \(a)")
    }

    @Test func withDPAtEpsilonOneTheAttackerIsNearChance() throws {
        // The noise a real signature gets at ε = 1, δ = 1e-6 (same releases as SignatureBuilder).
        var o = SignatureOptions()
        o.epsilon = 1
        o.clusters = Self.clusters
        o.iterations = Self.iterations
        let z = try SignatureBuilder.plan(o)!.noiseMultiplier(.centroidSums)!
        let a = Self.attack(trials: 400, sumNoise: z, minClusterSize: 32)
        print("membership AUC with DP at ε = 1, δ = 1e-6, min cluster size 32, 400 trials: \(a)")
        #expect(a < 0.6, "AUC with DP (ε = 1) = \(a)")
    }

    /// The signature as it is released now: one DP mean of n = 64 points in a 16-dimensional signature
    /// space (the demo's owners have ~63 documents), the target a worst case (a point far from the
    /// others' mean, which moves the released direction most). The attacker knows the others and sees
    /// the released direction: its score is how much closer that direction is to the target than the
    /// others' own mean is. The Gaussian mechanism's accounting bounds any attacker's AUC by
    /// Φ(1/(√2·z)) (the optimal test between N(0, z²) and N(1, z²) along the target); the measured AUC
    /// must be within that bound (plus 3 standard errors) and is reported against 0.5.
    static func meanAttack(trials: Int, sumNoise noise: Double?) -> Double {
        let d = 16, n = 64
        var results = [(Double, Bool)]()
        for t in 0..<trials {
            let (others, _, _) = syntheticEmbeddings(n: n, C: d, k: 1, spread: 0.8, seed: UInt64(7000 + t))
            // The target: the unit vector opposite the others' mean, what changes the mean's direction most.
            var mean = [Double](repeating: 0, count: d)
            for i in 0..<n { for c in 0..<d { mean[c] += Double(others[i * d + c]) } }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            var perpendicular = (0..<d).map { c in c == t % d ? 1.0 : 0.0 }
            let along = zip(perpendicular, mean).reduce(0) { $0 + $1.0 * $1.1 } / norm
            perpendicular = zip(perpendicular, mean).map { $0 - along * $1 / norm }
            let pn = perpendicular.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let target = perpendicular.map { Float($0 / pn) }
            let member = t % 2 == 0
            var rng = SeededNoise(seed: UInt64(90_000 + t))
            let released = LloydClustering(clusters: 1, iterations: 0, sumNoise: noise, countNoise: noise.map { $0 * DPSchedule.countNoiseWeight },
                                           minClusterSize: 1, initSeed: 42)
                .fit(points: member ? others + target : others, dimension: d, noise: &rng)
            let dot = (0..<d).reduce(0.0) { $0 + Double(released.centroids[$1]) * Double(target[$1]) }
            let baseline = (0..<d).reduce(0.0) { $0 + mean[$1] / norm * Double(target[$1]) }
            results.append((dot - baseline, member))
        }
        return auc(results)
    }

    @Test func withoutDPTheAttackerWinsOnTheMean() {
        let a = Self.meanAttack(trials: 400, sumNoise: nil)
        print("membership AUC on a 64-document mean in 16 dimensions without DP, 400 trials: \(a)")
        #expect(a > 0.95, "AUC without DP = \(a)")
    }

    @Test func onTheDPMeanAtEpsilonOneTheAttackerIsHeldToTheAccountedBound() throws {
        var o = SignatureOptions()
        o.epsilon = 1
        o.clusters = 1
        let z = try SignatureBuilder.plan(o)!.noiseMultiplier(.centroidSums)!
        let trials = 2000
        let a = Self.meanAttack(trials: trials, sumNoise: z)
        let bound = 0.5 * erfc(-1 / (2.0.squareRoot() * z) / 2.0.squareRoot())
        // Hanley & McNeil's standard error of an AUC near 0.5 with 1,000 + 1,000 trials: ≈ 0.013.
        let se = (1.0 / (3 * Double(trials))).squareRoot()
        print(String(format: "membership AUC on the DP mean (ε = 1, δ = 1e-6, z = %.2f, 64 documents, 16 dims), %d trials: %.3f; optimal attacker's AUC %.3f", z, trials, a, bound))
        #expect(a <= bound + 3 * se, "AUC \(a) above the Gaussian mechanism's bound \(bound)")
        #expect(abs(a - 0.5) <= 0.05 + 3 * se, "AUC \(a)")
    }
}
