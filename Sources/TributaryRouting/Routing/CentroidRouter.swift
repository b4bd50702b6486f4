import Foundation
import TributaryCore
import TributaryModel

/// Sequence-level routing by centroids (c-BTM, Gururangan et al. 2023): a query embedding is scored
/// against each expert by its nearest centroid, weights = softmax(−d²/T) over experts, top-k kept and
/// renormalised. All centroids are packed into one matrix so a batch of queries is one sgemm.
public final class CentroidRouter: @unchecked Sendable {
    public struct Route: Sendable, Equatable {
        public let expert: Int
        public let weight: Double
        /// Squared distance to the expert's nearest centroid.
        public let distance: Double
        public init(expert: Int, weight: Double, distance: Double) {
            self.expert = expert
            self.weight = weight
            self.distance = distance
        }
    }

    public let index: RoutingIndex
    public let temperature: Double
    public let topK: Int
    let packed: FloatBuffer         // [M, d]
    let owner: [Int32]              // [M] expert of each packed centroid
    let firstOf: [Int]              // expert e's centroids are packed rows firstOf[e]..<firstOf[e+1]

    public init(index: RoutingIndex, temperature: Double = 0.1, topK: Int = 2) {
        self.index = index
        self.temperature = temperature
        self.topK = topK
        var rows = [Float](), own = [Int32](), first = [0]
        for (e, ex) in index.experts.enumerated() {
            rows += ex.centroids
            own += [Int32](repeating: Int32(e), count: ex.counts.count)
            first.append(own.count)
        }
        packed = FloatBuffer(rows)
        owner = own
        firstOf = first
    }

    public var centroidCount: Int { owner.count }

    /// Routes `n` unit-norm query points ([n, d] row-major, in the index's space). Experts without
    /// centroids are never chosen.
    public func route(_ queries: [Float], count n: Int, workers: Int = 2) -> [[Route]] {
        let C = index.dimension, M = centroidCount, E = index.experts.count
        guard M > 0, n > 0 else { return Array(repeating: [], count: n) }
        var out = [[Route]](repeating: [], count: n)
        // Similarities S = Q Mᵀ one block of queries at a time per worker, so the block stays in cache
        // and the buffer is reused instead of one n × M matrix.
        let w = max(1, min(workers, n))
        let per = (n + w - 1) / w
        let block = 32
        out.withUnsafeMutableBufferPointer { results in
            let res = results.baseAddress!
            queries.withUnsafeBufferPointer { q in
                parallelFor(w) { i in
                    let lo = i * per, hi = min(n, lo + per)
                    guard lo < hi else { return }
                    let sims = FloatBuffer(count: block * M, zeroed: false)
                    var dist = [Double](repeating: .infinity, count: E)
                    var start = lo
                    while start < hi {
                        let rows = min(block, hi - start)
                        sgemm(transB: true, m: rows, n: M, k: C, a: q.baseAddress! + start * C, lda: C, b: packed.pointer, ldb: C,
                              c: sims.pointer, ldc: M)
                        for r in 0..<rows {
                            let s = sims.pointer + r * M
                            for e in 0..<E where firstOf[e + 1] > firstOf[e] {
                                // Unit vectors: |q − c|² = 2 − 2 q·c, so the nearest centroid is the most similar.
                                let best = FastMath.max(s + firstOf[e], firstOf[e + 1] - firstOf[e])
                                dist[e] = max(0, 2 - 2 * Double(best))
                            }
                            res[start + r] = Self.pick(dist, temperature: temperature, topK: topK)
                        }
                        start += rows
                    }
                }
            }
        }
        return out
    }

    /// softmax(−d²/T) over the experts with a finite distance, top-k, renormalised. The softmax's
    /// denominator cancels in the renormalisation, so only the k kept weights are ever exponentiated.
    static func pick(_ dist: [Double], temperature: Double, topK: Int) -> [Route] {
        let k = max(1, topK)
        var kept = [(expert: Int, d: Double)]()
        kept.reserveCapacity(k + 1)
        for (e, d) in dist.enumerated() where d.isFinite {
            // Insert into the sorted top-k (ascending distance; ties keep the lower index first).
            guard kept.count < k || d < kept[kept.count - 1].d else { continue }
            var i = kept.count
            while i > 0 && kept[i - 1].d > d { i -= 1 }
            kept.insert((e, d), at: i)
            if kept.count > k { kept.removeLast() }
        }
        guard let nearest = kept.first?.d else { return [] }
        let weights = kept.map { exp(-($0.d - nearest) / temperature) }
        let total = weights.reduce(0, +)
        return zip(kept, weights).map { Route(expert: $0.expert, weight: $1 / total, distance: $0.d) }
    }
}
