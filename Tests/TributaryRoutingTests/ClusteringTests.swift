import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryRouting
import TributaryTestSupport

/// `n` unit vectors in `C` dimensions around `k` random unit centres.
func syntheticEmbeddings(n: Int, C: Int, k: Int, spread: Double, seed: UInt64) -> (points: [Float], centres: [[Double]], labels: [Int]) {
    var rng = RNG(seed: seed)
    func unit(_ v: [Double]) -> [Double] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }
    let centres = (0..<k).map { _ in unit((0..<C).map { _ in rng.normal() }) }
    var points = [Float](), labels = [Int]()
    for i in 0..<n {
        let j = i % k
        points += unit((0..<C).map { centres[j][$0] + spread * rng.normal() / Double(C).squareRoot() }).map(Float.init)
        labels.append(j)
    }
    return (points, centres, labels)
}

@Suite struct ClusteringTests {
    @Test func recoversWellSeparatedClustersWithoutNoise() {
        let (points, centres, _) = syntheticEmbeddings(n: 600, C: 16, k: 3, spread: 0.3, seed: 1)
        var noise = SeededNoise(seed: 1)
        let r = LloydClustering(clusters: 3, iterations: 10, sumNoise: nil, countNoise: nil, minClusterSize: 1, initSeed: 7)
            .fit(points: points, dimension: 16, noise: &noise)
        #expect(r.k == 3)
        for centre in centres {
            let best = (0..<r.k).map { j in (0..<16).reduce(0.0) { $0 + Double(r.centroids[j * 16 + $1]) * centre[$1] } }.max()!
            #expect(best > 0.98, "a true centre is \(acos(best) * 180 / .pi)° from its nearest centroid")
        }
        #expect(abs(r.counts.reduce(0, +) - 600) < 1e-3)
    }

    @Test func smallClustersAreNeverPublished() {
        let (points, _, _) = syntheticEmbeddings(n: 40, C: 8, k: 4, spread: 0.2, seed: 2)
        var noise = SeededNoise(seed: 2)
        let r = LloydClustering(clusters: 4, iterations: 3, sumNoise: nil, countNoise: nil, minClusterSize: 32, initSeed: 1)
            .fit(points: points, dimension: 8, noise: &noise)
        #expect(r.counts.allSatisfy { $0 >= 32 })
        #expect(r.k + r.dropped == 4)
        #expect(r.centroids.count == r.k * 8)
    }

    @Test func signatureRoundTripsThroughSafetensors() throws {
        let dir = scratchDirectory("sig")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stats = (0..<80).map { (i: Int) -> DocumentStatistics in
            let layer: [Float] = (0..<16).map { (j: Int) -> Float in Float((j * 7 + i) % 5) - 2 }
            let emb: [Float] = (0..<8).map { (j: Int) -> Float in Float((j + i) % 3) + 0.5 }
            return DocumentStatistics(layerMeans: layer, rawEmbedding: VectorMath.normalized(emb), tokens: 10)
        }
        var o = SignatureOptions()
        o.clusters = 2
        let plan = try SignatureBuilder.plan(o)
        var noise = SeededNoise(seed: 3)
        let sig = try SignatureBuilder.build(stats: SignatureStatistics(stats, space: SignatureSpace(layer: 2, center: [Float](repeating: 0, count: 8), projection: nil), layers: 2, hidden: 8), options: o, plan: plan, noise: &noise)
        try sig.write(to: dir + "/routing.safetensors")
        let back = try RoutingSignature.read(dir + "/routing.safetensors")
        #expect(back.centroids == sig.centroids && back.counts == sig.counts && back.routerRows == sig.routerRows)
        #expect(back.parameters == sig.parameters)
        #expect(back.parameters.privacy.enabled)
        #expect(abs(back.parameters.privacy.epsilon! - plan!.epsilon) < 1e-12)
        #expect(back.parameters.routerRowSource == .trained)
        #expect(back.parameters.privacy.noiseMultipliers[.routerRows] == nil)
        // Router rows are unit per layer.
        for l in 0..<2 { #expect(abs(VectorMath.norm(Array(sig.routerRows[l * 8..<(l + 1) * 8])) - 1) < 1e-5) }
    }

    @Test func noDPIsRecordedAsSuch() throws {
        var o = SignatureOptions()
        o.disabled = true
        o.minClusterSize = 1
        let stats = (0..<10).map { _ in DocumentStatistics(layerMeans: [1, 0, 0, 1], rawEmbedding: [1, 0], tokens: 3) }
        var noise = SeededNoise(seed: 1)
        let sig = try SignatureBuilder.build(stats: SignatureStatistics(stats, space: SignatureSpace(layer: 2, center: [0, 0], projection: nil), layers: 2, hidden: 2), options: o, plan: try SignatureBuilder.plan(o), noise: &noise)
        #expect(!sig.parameters.privacy.enabled)
        #expect(sig.parameters.privacy.epsilon == nil)
        #expect(sig.parameters.privacy.mechanism == "none")
    }
}
