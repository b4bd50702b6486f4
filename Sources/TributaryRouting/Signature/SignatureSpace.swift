import Foundation
import TributaryCore
import TributaryModel

/// Where routing signatures live: a low-dimensional space fitted on the anchor's **public** text only
/// (so it costs no privacy), part of the anchor. A document's point is its mean hidden state at one
/// layer of the anchor (the input of that layer's feed-forward block, over its first tokens), minus
/// the public mean, projected on public principal directions, L2-normalised.
///
/// Why: DP noise on a mean of n unit vectors in d dimensions has norm ≈ σ·√d / n; in the anchor's
/// 576 dimensions it swamped every signal at ε = 1 (norm 1.8 for n = 65), in 16 it is about 0.3.
/// Middle layers separate topics better than the last, whose states are nearly parallel in small
/// decoders (Ethayarajh 2019; Skean et al. 2025); dropping the top public directions and whitening
/// the rest are the usual fixes for that anisotropy (Mu & Viswanath 2018).
public struct SignatureSpace: Sendable, Equatable {
    /// The anchor layer whose feed-forward input is averaged (0..<L).
    public let layer: Int
    /// [C]: the public documents' mean of that quantity.
    public let center: [Float]
    /// [d, C], row-major: the projection (principal directions, scaled by 1/√eigenvalue when whitened).
    public let projection: [Float]
    public let dimension: Int

    public var hidden: Int { center.count }

    public init(layer: Int, center: [Float], projection: [Float]) {
        precondition(!center.isEmpty && projection.count % center.count == 0)
        self.layer = layer
        self.center = center
        self.projection = projection
        dimension = projection.count / center.count
    }

    /// A document's point: normalise(P · (x − center)), x its layer mean [C].
    public func point(_ x: ArraySlice<Float>) -> [Float] {
        let C = hidden
        precondition(x.count == C)
        var centred = [Double](repeating: 0, count: C)
        for (i, v) in x.enumerated() { centred[i] = Double(v) - Double(center[i]) }
        var out = [Float](repeating: 0, count: dimension)
        var norm = 0.0
        for r in 0..<dimension {
            var s = 0.0
            for c in 0..<C { s += Double(projection[r * C + c]) * centred[c] }
            out[r] = Float(s)
            norm += s * s
        }
        guard norm > 0 else { return out }
        let inv = 1 / norm.squareRoot()
        return out.map { Float(Double($0) * inv) }
    }

    /// The points of documents' statistics (their layer means at `layer`), [n, d] row-major.
    public func points(_ stats: [DocumentStatistics]) -> [Float] {
        let C = hidden
        return stats.flatMap { point($0.layerMeans[layer * C..<(layer + 1) * C]) }
    }

    /// Fits the space on public documents' layer means at `layer` ([n, C] rows): centre, the
    /// `dimension` principal directions after the first `drop`, whitened when asked.
    public static func fit(layerMeans rows: [Float], hidden C: Int, layer: Int, dimension d: Int, drop: Int, whiten: Bool) throws -> SignatureSpace {
        let n = rows.count / C
        guard n > d + drop else {
            throw TributaryError("routing.too_little_text", "fitting a \(d)-dimensional signature space needs more than \(d + drop) public documents, \(n) given")
        }
        var mean = [Double](repeating: 0, count: C)
        for i in 0..<n { for c in 0..<C { mean[c] += Double(rows[i * C + c]) } }
        for c in 0..<C { mean[c] /= Double(n) }
        var cov = [Double](repeating: 0, count: C * C)
        var x = [Double](repeating: 0, count: C)
        for i in 0..<n {
            for c in 0..<C { x[c] = Double(rows[i * C + c]) - mean[c] }
            for a in 0..<C where x[a] != 0 {
                let xa = x[a]
                for b in a..<C { cov[a * C + b] += xa * x[b] }
            }
        }
        for a in 0..<C { for b in a..<C { cov[a * C + b] /= Double(n - 1); cov[b * C + a] = cov[a * C + b] } }
        let (vectors, values) = PrincipalComponents.top(drop + d, symmetric: cov, size: C)
        var projection = [Float]()
        projection.reserveCapacity(d * C)
        for r in drop..<(drop + d) {
            let scale = whiten ? 1 / max(values[r], 1e-12).squareRoot() : 1
            projection += vectors[r * C..<(r + 1) * C].map { Float($0 * scale) }
        }
        return SignatureSpace(layer: layer, center: mean.map { Float($0) }, projection: projection)
    }
}

/// The top eigenvectors of a symmetric positive semi-definite matrix by orthogonal (block power)
/// iteration: plain loops in Double in a fixed order, so the same matrix gives the same directions on
/// every CPU (no BLAS, whose kernels differ between AVX2 and AVX-512). Each direction's sign is fixed
/// (its largest coordinate positive).
public enum PrincipalComponents {
    /// `k` unit eigenvectors [k, n] row-major, by descending eigenvalue, and their eigenvalues.
    public static func top(_ k: Int, symmetric a: [Double], size n: Int, iterations: Int = 300) -> (vectors: [Double], values: [Double]) {
        precondition(a.count == n * n && k >= 1 && k <= n)
        // A fixed start: e_i plus a deterministic spread, orthonormalised.
        var q = [Double](repeating: 0, count: k * n)
        for j in 0..<k { for i in 0..<n { q[j * n + i] = (i == j ? 1 : 0) + 0.01 * sin(Double(7 * i + 13 * j + 1)) } }
        orthonormalise(&q, k, n)
        var z = [Double](repeating: 0, count: k * n)
        for _ in 0..<iterations {
            for j in 0..<k {
                for r in 0..<n {
                    var s = 0.0
                    for c in 0..<n { s += a[r * n + c] * q[j * n + c] }
                    z[j * n + r] = s
                }
            }
            orthonormalise(&z, k, n)
            swap(&q, &z)
        }
        // Rayleigh quotients, then order by them (the iteration converges to the top subspace; within it
        // the order is settled by sorting) and fix each sign.
        var values = [Double](repeating: 0, count: k)
        for j in 0..<k {
            var s = 0.0
            for r in 0..<n {
                var ar = 0.0
                for c in 0..<n { ar += a[r * n + c] * q[j * n + c] }
                s += q[j * n + r] * ar
            }
            values[j] = s
        }
        let order = (0..<k).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var vectors = [Double]()
        vectors.reserveCapacity(k * n)
        for j in order {
            var v = Array(q[j * n..<(j + 1) * n])
            let pivot = v.indices.max { abs(v[$0]) < abs(v[$1]) }!
            if v[pivot] < 0 { v = v.map { -$0 } }
            vectors += v
        }
        return (vectors, order.map { values[$0] })
    }

    /// Modified Gram–Schmidt on the k rows of `m` [k, n].
    static func orthonormalise(_ m: inout [Double], _ k: Int, _ n: Int) {
        for j in 0..<k {
            for p in 0..<j {
                var dot = 0.0
                for i in 0..<n { dot += m[j * n + i] * m[p * n + i] }
                for i in 0..<n { m[j * n + i] -= dot * m[p * n + i] }
            }
            var norm = 0.0
            for i in 0..<n { norm += m[j * n + i] * m[j * n + i] }
            norm = norm.squareRoot()
            if norm > 0 { for i in 0..<n { m[j * n + i] /= norm } }
        }
    }
}
