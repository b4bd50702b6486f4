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
}
