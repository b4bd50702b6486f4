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
    }

    public let index: RoutingIndex
    public let temperature: Double
    public let topK: Int
    let packed: FloatBuffer         // [M, C]
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

    /// Routes `n` unit-norm query embeddings ([n, C] row-major). Experts without centroids are never chosen.
    public func route(_ queries: [Float], count n: Int, workers: Int = 2) -> [[Route]] {
        let C = index.dimension, M = centroidCount, E = index.experts.count
        guard M > 0, n > 0 else { return Array(repeating: [], count: n) }
        var out = [[Route]](repeating: [], count: n)
        // Similarities S = Q Mᵀ, [n, M], one sgemm per worker's block of queries.
        let sims = FloatBuffer(count: n * M, zeroed: false)
        let w = max(1, min(workers, n))
        let per = (n + w - 1) / w
        queries.withUnsafeBufferPointer { q in
            parallelFor(w) { i in
                let lo = i * per, hi = min(n, lo + per)
                guard lo < hi else { return }
                sgemm(transB: true, m: hi - lo, n: M, k: C, a: q.baseAddress! + lo * C, lda: C, b: packed.pointer, ldb: C,
                      c: sims.pointer + lo * M, ldc: M)
            }
        }
        out.withUnsafeMutableBufferPointer { results in
            let res = results.baseAddress!
            parallelFor(w) { i in
                let lo = i * per, hi = min(n, lo + per)
                guard lo < hi else { return }
                var dist = [Double](repeating: .infinity, count: E)
                for row in lo..<hi {
                    let s = sims.pointer + row * M
                    for e in 0..<E where firstOf[e + 1] > firstOf[e] {
                        var best = -Float.infinity
                        for j in firstOf[e]..<firstOf[e + 1] where s[j] > best { best = s[j] }
                        // Unit vectors: |q − c|² = 2 − 2 q·c.
                        dist[e] = max(0, 2 - 2 * Double(best))
                    }
                    res[row] = Self.pick(dist, temperature: temperature, topK: topK)
                    for e in 0..<E { dist[e] = .infinity }
                }
            }
        }
        return out
    }

    /// softmax(−d²/T) over the experts with a finite distance, top-k, renormalised.
    static func pick(_ dist: [Double], temperature: Double, topK: Int) -> [Route] {
        let candidates = dist.indices.filter { dist[$0].isFinite }
        guard !candidates.isEmpty else { return [] }
        let logits = candidates.map { -dist[$0] / temperature }
        let m = logits.max()!
        let weights = logits.map { exp($0 - m) }
        let ranked = zip(candidates, weights).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(max(1, topK))
        let total = ranked.reduce(0) { $0 + $1.1 }
        return ranked.map { Route(expert: $0.0, weight: $0.1 / total, distance: dist[$0.0]) }
    }
}
