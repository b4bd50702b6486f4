import Foundation
import TributaryModel

/// Spherical k-means (Lloyd's iterations on unit vectors, cosine assignment), optionally with
/// differential privacy: DP-Lloyd (Blum et al. 2005; Su et al. 2016) adds Gaussian noise to every
/// released per-cluster sum and count.
///
/// One document is one point of norm ≤ 1 (embeddings are unit vectors), so adding or removing a
/// document changes one cluster's sum by at most 1 in L2 and one count by 1: each iteration is two
/// Gaussian releases of sensitivity 1. Initialisation uses a noisy global mean (two more releases)
/// spread by data-independent random directions; nothing else looks at the data. With one cluster the
/// noisy mean is the answer and no iteration runs.
public struct LloydClustering: Sendable {
    public struct Result: Sendable {
        /// [k, C] unit vectors, only clusters whose (noisy) count reached `minClusterSize`.
        public var centroids: [Float]
        public var counts: [Float]
        public var k: Int { counts.count }
        /// Clusters dropped for being too small.
        public var dropped: Int
    }

    public var clusters: Int
    public var iterations: Int
    /// σ / sensitivity of the sum releases and of the count releases; nil means no noise (public data,
    /// or `--no-dp`).
    public var sumNoise: Double?
    public var countNoise: Double?
    public var minClusterSize: Int
    /// Seeds the data-independent spread of the initial centroids.
    public var initSeed: UInt64

    public init(clusters: Int, iterations: Int, sumNoise: Double?, countNoise: Double?, minClusterSize: Int, initSeed: UInt64) {
        self.clusters = clusters
        self.iterations = clusters > 1 ? iterations : 0
        self.sumNoise = sumNoise
        self.countNoise = countNoise
        self.minClusterSize = minClusterSize
        self.initSeed = initSeed
    }


    /// `points` [n, C], each of norm ≤ 1.
    public func fit<N: NoiseSource>(points: [Float], dimension C: Int, noise: inout N) -> Result {
        let n = points.count / C
        let k = clusters
        func addNoise(_ v: inout [Double], _ multiplier: Double?) {
            guard let z = multiplier else { return }
            for i in v.indices { v[i] += z * noise.gaussian() }
        }
        // Initialisation: noisy mean, then k directions spread around it.
        var sum = [Double](repeating: 0, count: C)
        for i in 0..<n { for c in 0..<C { sum[c] += Double(points[i * C + c]) } }
        var count = [Double(n)]
        addNoise(&sum, sumNoise)
        addNoise(&count, countNoise)
        let mean = sum.map { $0 / max(count[0], 1) }
        let meanNorm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let spread = (max(0.01, 1 - min(meanNorm, 1) * min(meanNorm, 1))).squareRoot()
        var rng = RNG(seed: initSeed)
        var centroids = [Float](repeating: 0, count: k * C)
        for j in 0..<k {
            var v = (0..<C).map { mean[$0] + spread * rng.normal() / Double(C).squareRoot() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { v = v.map { $0 / norm } }
            for c in 0..<C { centroids[j * C + c] = Float(v[c]) }
        }
        var counts = [Double](repeating: 0, count: k)
        if k == 1 {
            // One cluster: the noisy mean's direction and the noisy count are the release.
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for c in 0..<C { centroids[c] = Float(sum[c] / norm) } }
            counts[0] = count[0]
        }
        var scores = [Float](repeating: 0, count: max(n * k, 1))
        for _ in 0..<iterations {
            // Assign each point to its most similar centroid: scores = X Cᵀ [n, k].
            points.withUnsafeBufferPointer { x in
                centroids.withUnsafeBufferPointer { cc in
                    scores.withUnsafeMutableBufferPointer { s in
                        sgemm(transB: true, m: n, n: k, k: C, a: x.baseAddress!, lda: C, b: cc.baseAddress!, ldb: C, c: s.baseAddress!, ldc: k)
                    }
                }
            }
            var sums = [Double](repeating: 0, count: k * C)
            counts = [Double](repeating: 0, count: k)
            for i in 0..<n {
                var best = 0
                for j in 1..<max(k, 1) where scores[i * k + j] > scores[i * k + best] { best = j }
                counts[best] += 1
                for c in 0..<C { sums[best * C + c] += Double(points[i * C + c]) }
            }
            addNoise(&sums, sumNoise)
            addNoise(&counts, countNoise)
            for j in 0..<k {
                let norm = (0..<C).reduce(0.0) { $0 + sums[j * C + $1] * sums[j * C + $1] }.squareRoot()
                // An empty cluster without noise keeps its centroid; with noise, the noisy sum is all there is.
                guard norm > 0 else { continue }
                for c in 0..<C { centroids[j * C + c] = Float(sums[j * C + c] / norm) }
            }
        }
        var kept = [Float](), keptCounts = [Float]()
        for j in 0..<k where counts[j] >= Double(minClusterSize) {
            kept += centroids[j * C..<(j + 1) * C]
            keptCounts.append(Float(counts[j]))
        }
        return Result(centroids: kept, counts: keptCounts, dropped: k - keptCounts.count)
    }
}
