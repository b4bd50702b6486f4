/// SwiGLU activation: a = silu(h1) ⊙ h3, with h = [h1 | h3] the stacked gate and up projections.
public enum SwiGLU {
    /// h[N, 2F] → a[N, F]
    public static func forward(out: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, n: Int, f: Int) {
        typealias V = FastMath.V
        for t in 0..<n {
            let h1 = h + t * 2 * f, h3 = h1 + f, a = out + t * f
            var i = 0
            while i + 8 <= f {
                let x = UnsafeRawPointer(h1 + i).loadUnaligned(as: V.self)
                let u = UnsafeRawPointer(h3 + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(a + i).storeBytes(of: x * FastMath.sigmoid(x) * u, as: V.self)
                i += 8
            }
            while i < f {
                let x = h1[i]
                a[i] = x / (1 + FastMath.exp(-x)) * h3[i]
                i += 1
            }
        }
    }

    /// da[N, F] → dh[N, 2F] (overwritten).
    /// d h1 = da · h3 · σ(h1)(1 + h1(1 − σ(h1))),  d h3 = da · silu(h1).
    public static func backward(dh: UnsafeMutablePointer<Float>, da: UnsafePointer<Float>, h: UnsafePointer<Float>, n: Int, f: Int) {
        typealias V = FastMath.V
        for t in 0..<n {
            let h1 = h + t * 2 * f, h3 = h1 + f, g = da + t * f
            let d1 = dh + t * 2 * f, d3 = d1 + f
            var i = 0
            while i + 8 <= f {
                let x = UnsafeRawPointer(h1 + i).loadUnaligned(as: V.self)
                let u = UnsafeRawPointer(h3 + i).loadUnaligned(as: V.self)
                let gg = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
                let s = FastMath.sigmoid(x)
                UnsafeMutableRawPointer(d1 + i).storeBytes(of: gg * u * s * (1 + x * (1 - s)), as: V.self)
                UnsafeMutableRawPointer(d3 + i).storeBytes(of: gg * x * s, as: V.self)
                i += 8
            }
            while i < f {
                let x = h1[i]
                let s = 1 / (1 + FastMath.exp(-x))
                d1[i] = g[i] * h3[i] * s * (1 + x * (1 - s))
                d3[i] = g[i] * x * s
                i += 1
            }
        }
    }
}
