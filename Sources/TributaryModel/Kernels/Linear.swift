/// A bias-free linear layer y = x Wᵀ with W stored [out, in] (PyTorch's nn.Linear layout).
public enum Linear {
    /// out[N,OC] = inp[N,IC] · W[OC,IC]ᵀ (+ out when accumulate). `ldo` lets out be a column block.
    @inline(__always)
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               n: Int, ic: Int, oc: Int, accumulate: Bool = false, ldi: Int? = nil, ldo: Int? = nil) {
        if n == 1 {
            sgemv(m: oc, n: ic, a: weight, lda: ic, x: inp, beta: accumulate ? 1 : 0, y: out)
            return
        }
        sgemm(transB: true, m: n, n: oc, k: ic, a: inp, lda: ldi ?? ic, b: weight, ldb: ic,
              beta: accumulate ? 1 : 0, c: out, ldc: ldo ?? oc)
    }

    /// `forward` with W's rows (out's columns) split into `parts` blocks, one per core. Decoding runs
    /// a few rows through each weight matrix, so the product is bound by reading the weights, and one
    /// core cannot draw the memory bandwidth two do. Each output element is the same dot product as
    /// unsplit (blocks start at multiples of 16 rows); small matrices are not worth a thread handoff.
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               n: Int, ic: Int, oc: Int, accumulate: Bool = false, parts: Int) {
        guard parts > 1, oc >= 32, oc * ic >= 1 << 16 else {
            return forward(out: out, inp: inp, weight: weight, n: n, ic: ic, oc: oc, accumulate: accumulate)
        }
        let block = ((oc + parts - 1) / parts + 15) / 16 * 16
        parallelFor((oc + block - 1) / block) { p in
            let r0 = p * block, rows = min(block, oc - r0)
            forward(out: out + r0, inp: inp, weight: weight + r0 * ic, n: n, ic: ic, oc: rows, accumulate: accumulate, ldo: oc)
        }
    }

    /// dinp[N,IC] (+)= dout[N,OC] · W[OC,IC]
    @inline(__always)
    public static func backwardInput(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     n: Int, ic: Int, oc: Int, accumulate: Bool, lddo: Int? = nil) {
        sgemm(m: n, n: ic, k: oc, a: dout, lda: lddo ?? oc, b: weight, ldb: ic, beta: accumulate ? 1 : 0, c: dinp, ldc: ic)
    }

    /// dW[OC,IC] += dout[N,OC]ᵀ · inp[N,IC]
    @inline(__always)
    public static func backwardWeight(dweight: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                      n: Int, ic: Int, oc: Int, lddo: Int? = nil, ldi: Int? = nil) {
        sgemm(transA: true, m: oc, n: ic, k: n, a: dout, lda: lddo ?? oc, b: inp, ldb: ldi ?? ic, beta: 1, c: dweight, ldc: ic)
    }
}
