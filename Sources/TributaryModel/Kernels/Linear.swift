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
