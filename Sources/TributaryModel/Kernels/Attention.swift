/// Causal grouped-query self-attention over a batch of sequences, one (sequence, head) at a time so
/// the T×T score matrix stays in cache. Scores and products go through sgemm with strided views of qkv.
///
/// A row of qkv is q (H heads of D) | k (KV heads of D) | v (KV heads of D); query head h reads
/// key/value head h / (H / KV). With KV == H this is ordinary multi-head attention.
public struct AttentionShape: Sendable {
    public let heads: Int, kvHeads: Int, headDim: Int
    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }
    public init(_ c: ModelConfig) { self.init(heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim) }
    var qDim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }
    /// Floats in one row of qkv.
    var width: Int { qDim + 2 * kvDim }
    /// Column of query head h, and of its key and value heads.
    @inline(__always) func q(_ h: Int) -> Int { h * headDim }
    @inline(__always) func k(_ h: Int) -> Int { qDim + (h / (heads / kvHeads)) * headDim }
    @inline(__always) func v(_ h: Int) -> Int { qDim + kvDim + (h / (heads / kvHeads)) * headDim }
}

public enum Attention {
    /// Query rows per causal block of the forward pass (see `forward`).
    static let causalBlock = 64

    /// qkv[B*T, W] (rotary already applied) → out[B*T, H·D]; saves probs[B, H, T, T].
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch: Int, seqLen T: Int, shape s: AttentionShape) {
        let D = s.headDim, W = s.width, Q = s.qDim, H = s.heads
        let scale = 1 / Float(D).squareRoot()
        for b in 0..<batch {
            let row0 = qkv + b * T * W
            for h in 0..<H {
                let q = row0 + s.q(h), k = row0 + s.k(h), v = row0 + s.v(h)
                let p = probs + (b * H + h) * T * T
                // In blocks of `causalBlock` query rows: rows r0..<r1 see keys 0..<r1 only, so the
                // scores above the diagonal's block are never computed (half the work at T ≫ block).
                for r0 in stride(from: 0, to: T, by: causalBlock) {
                    let r1 = min(T, r0 + causalBlock)
                    // S = scale · Q Kᵀ  [r1 - r0, r1]
                    sgemm(transB: true, m: r1 - r0, n: r1, k: D, alpha: scale, a: q + r0 * W, lda: W, b: k, ldb: W, c: p + r0 * T, ldc: T)
                    // Causal softmax: row i sees keys 0...i; the rest of the row becomes 0.
                    for i in r0..<r1 {
                        let row = p + i * T
                        let m = FastMath.max(row, i + 1)
                        let sum = FastMath.expShifted(row, row, i + 1, shift: m)
                        let inv = 1 / sum
                        for j in 0...i { row[j] *= inv }
                        if i + 1 < T { (row + i + 1).update(repeating: 0, count: T - i - 1) }
                    }
                    // O = P V  [r1 - r0, D] into out's column block of this head.
                    sgemm(m: r1 - r0, n: D, k: r1, a: p + r0 * T, lda: T, b: v, ldb: W, c: out + (b * T + r0) * Q + h * D, ldc: Q)
                }
            }
        }
    }

    /// dout[B*T, H·D] → dqkv[B*T, W] (overwritten; gradients w.r.t. the rotated q and k). The key and
    /// value gradients of a shared head are the sums over the query heads that read it.
    /// `scratch` holds T×T floats.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                batch: Int, seqLen T: Int, shape s: AttentionShape) {
        let D = s.headDim, W = s.width, Q = s.qDim, H = s.heads
        let scale = 1 / Float(D).squareRoot()
        dqkv.update(repeating: 0, count: batch * T * W)
        for b in 0..<batch {
            let row0 = qkv + b * T * W, drow0 = dqkv + b * T * W
            for h in 0..<H {
                let q = row0 + s.q(h), k = row0 + s.k(h), v = row0 + s.v(h)
                let dq = drow0 + s.q(h), dk = drow0 + s.k(h), dv = drow0 + s.v(h)
                let p = probs + (b * H + h) * T * T
                let dO = dout + b * T * Q + h * D
                let dp = scratch
                // dP = dO Vᵀ [T, T];  dV += Pᵀ dO [T, D]
                sgemm(transB: true, m: T, n: T, k: D, a: dO, lda: Q, b: v, ldb: W, c: dp, ldc: T)
                sgemm(transA: true, m: T, n: D, k: T, a: p, lda: T, b: dO, ldb: Q, beta: 1, c: dv, ldc: W)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale, causal part only.
                for i in 0..<T {
                    let pr = p + i * T, dr = dp + i * T
                    let sum = FastMath.dot(pr, dr, i + 1)
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - sum) * scale }
                    if i + 1 < T { (dr + i + 1).update(repeating: 0, count: T - i - 1) }
                }
                // dQ = dS K;  dK += dSᵀ Q
                sgemm(m: T, n: D, k: T, a: dp, lda: T, b: k, ldb: W, c: dq, ldc: W)
                sgemm(transA: true, m: T, n: D, k: T, a: dp, lda: T, b: q, ldb: W, beta: 1, c: dk, ldc: W)
            }
        }
    }
}
