/// Causal multi-head self-attention over a batch of sequences, one (sequence, head) at a time so the
/// T×T score matrix stays in cache. Scores and products go through sgemm with strided views of qkv.
public enum Attention {
    /// qkv[B*T, 3C] (q | k | v, rotary already applied) → out[B*T, C]; saves probs[B, H, T, T].
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch: Int, seqLen T: Int, channels C: Int, heads H: Int) {
        let hd = C / H
        let scale = 1 / Float(hd).squareRoot()
        for b in 0..<batch {
            for h in 0..<H {
                let q = qkv + b * T * 3 * C + h * hd
                let k = q + C, v = q + 2 * C
                let p = probs + (b * H + h) * T * T
                // S = scale · Q Kᵀ  [T, T]
                sgemm(transB: true, m: T, n: T, k: hd, alpha: scale, a: q, lda: 3 * C, b: k, ldb: 3 * C, c: p, ldc: T)
                // Causal softmax: row i sees keys 0...i; the rest of the row becomes 0.
                for i in 0..<T {
                    let row = p + i * T
                    let m = FastMath.max(row, i + 1)
                    let sum = FastMath.expShifted(row, row, i + 1, shift: m)
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    if i + 1 < T { (row + i + 1).update(repeating: 0, count: T - i - 1) }
                }
                // O = P V  [T, hd] into out's column block of this head.
                sgemm(m: T, n: hd, k: T, a: p, lda: T, b: v, ldb: 3 * C, c: out + b * T * C + h * hd, ldc: C)
            }
        }
    }

    /// dout[B*T, C] → dqkv[B*T, 3C] (overwritten; gradients w.r.t. the rotated q and k).
    /// `scratch` holds T×T floats.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                batch: Int, seqLen T: Int, channels C: Int, heads H: Int) {
        let hd = C / H
        let scale = 1 / Float(hd).squareRoot()
        for b in 0..<batch {
            for h in 0..<H {
                let q = qkv + b * T * 3 * C + h * hd
                let k = q + C, v = q + 2 * C
                let dq = dqkv + b * T * 3 * C + h * hd
                let dk = dq + C, dv = dq + 2 * C
                let p = probs + (b * H + h) * T * T
                let dO = dout + b * T * C + h * hd
                let dp = scratch
                // dP = dO Vᵀ [T, T];  dV = Pᵀ dO [T, hd]
                sgemm(transB: true, m: T, n: T, k: hd, a: dO, lda: C, b: v, ldb: 3 * C, c: dp, ldc: T)
                sgemm(transA: true, m: T, n: hd, k: T, a: p, lda: T, b: dO, ldb: C, c: dv, ldc: 3 * C)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale, causal part only.
                for i in 0..<T {
                    let pr = p + i * T, dr = dp + i * T
                    let s = FastMath.dot(pr, dr, i + 1)
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - s) * scale }
                    if i + 1 < T { (dr + i + 1).update(repeating: 0, count: T - i - 1) }
                }
                // dQ = dS K;  dK = dSᵀ Q
                sgemm(m: T, n: hd, k: T, a: dp, lda: T, b: k, ldb: 3 * C, c: dq, ldc: 3 * C)
                sgemm(transA: true, m: T, n: hd, k: T, a: dp, lda: T, b: q, ldb: 3 * C, c: dk, ldc: 3 * C)
            }
        }
    }
}
