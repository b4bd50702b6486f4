/// A low-rank update of a linear layer (LoRA): W = W0 + s · B · A with A [r, IC], B [OC, r].
///
/// Training runs the layer on the materialised W (one sgemm, the same kernel as any weight, and the
/// same rounding a release's materialised expert has) and computes the factors' gradients without
/// ever forming dW [OC, IC]:  dB = s · doutᵀ · (inp · Aᵀ),  dA = s · (dout · B)ᵀ · inp.
/// A release materialises W by `LoRAArithmetic.materialise` (TributaryCore), which any CPU computes
/// to the same bits.
public enum LoRA {
    /// w[OC, IC] (row stride ldw) = w0 (row stride ldw0) + s · b[OC, r] · a[r, IC], by sgemm: training's
    /// materialisation, rounded as the machine's BLAS kernel rounds.
    public static func materialise(w: UnsafeMutablePointer<Float>, ldw: Int, w0: UnsafePointer<Float>, ldw0: Int,
                                   a: UnsafePointer<Float>, b: UnsafePointer<Float>, rank r: Int, oc: Int, ic: Int, scale s: Float) {
        for o in 0..<oc { (w + o * ldw).update(from: w0 + o * ldw0, count: ic) }
        sgemm(m: oc, n: ic, k: r, alpha: s, a: b, lda: r, b: a, ldb: ic, beta: 1, c: w, ldc: ldw)
    }

    /// Scratch for `backward`: 2 · N · r Floats.
    public static func scratchCount(tokens n: Int, rank r: Int) -> Int { 2 * n * r }

    /// The factor gradients of out[N, OC] = inp[N, IC] · Wᵀ, given dout (row stride lddo) and inp (row
    /// stride ldi):  da[r, IC] += s · (dout · B)ᵀ · inp,  db[OC, r] += s · doutᵀ · (inp · Aᵀ).
    /// ∂L/∂inp is the frozen layer's (through the materialised W), computed by the caller.
    public static func backward(da: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, lddo: Int,
                                inp: UnsafePointer<Float>, ldi: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                n: Int, ic: Int, oc: Int, rank r: Int, scale s: Float, scratch: UnsafeMutablePointer<Float>) {
        let xa = scratch, gb = scratch + n * r   // [N, r] each
        // xa[N, r] = inp · Aᵀ;  db[OC, r] += s · doutᵀ · xa
        sgemm(transB: true, m: n, n: r, k: ic, a: inp, lda: ldi, b: a, ldb: ic, beta: 0, c: xa, ldc: r)
        sgemm(transA: true, m: oc, n: r, k: n, alpha: s, a: dout, lda: lddo, b: xa, ldb: r, beta: 1, c: db, ldc: r)
        // gb[N, r] = dout · B;  da[r, IC] += s · gbᵀ · inp
        sgemm(m: n, n: r, k: oc, a: dout, lda: lddo, b: b, ldb: r, beta: 0, c: gb, ldc: r)
        sgemm(transA: true, m: r, n: ic, k: n, alpha: s, a: gb, lda: r, b: inp, ldb: ldi, beta: 1, c: da, ldc: ic)
    }
}
