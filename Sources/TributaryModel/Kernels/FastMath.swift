/// exp and friends, vectorised. libm's expf is a function call per element; softmax, SiLU and the
/// attention probabilities call it millions of times per step. Cephes-style: 2^n * p(r) with
/// Cody-Waite range reduction, max relative error about 2 ulp on [-87, 88]; inputs above 88 saturate at e^88.
public enum FastMath {
    public typealias V = SIMD8<Float>

    @inline(__always)
    public static func exp(_ x: V) -> V {
        // Select, not clamped(lowerBound:upperBound:), which does not inline here and costs more than the rest.
        let lo = V(repeating: -87.33654), hi = V(repeating: 88.0)
        let clamped = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        // n = round(x / ln2) without a float→int conversion (Swift's generic SIMD one is slow): adding
        // 1.5·2^23 leaves n in the low mantissa bits of t.
        let magic = V(repeating: 12582912)
        let t = clamped * 1.442695041 + magic
        let n = t - magic
        // r = x - n ln2, ln2 split in two so n*hi is exact.
        var r = clamped - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        // 2^n: n + 127 into the exponent field. t's bit pattern is 0x4B400000 + n.
        let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: V.self)
    }

    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }

    /// Logistic sigmoid 1 / (1 + e^-x).
    @inline(__always)
    public static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }

    /// out[i] = exp(x[i] - shift) for n values; returns their sum.
    @inline(__always)
    public static func expShifted(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var i = 0
        var acc = V(repeating: 0)
        let s = V(repeating: shift)
        while i + 8 <= n {
            let e = exp(UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - s)
            UnsafeMutableRawPointer(out + i).storeBytes(of: e, as: V.self)
            acc += e
            i += 8
        }
        var sum = acc.sum()
        while i < n {
            let e = exp(x[i] - shift)
            out[i] = e
            sum += e
            i += 1
        }
        return sum
    }

    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var acc = V(repeating: -.infinity)
            while i + 8 <= n {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                acc = acc.replacing(with: v, where: v .> acc)
                i += 8
            }
            m = acc.max()
        }
        while i < n {
            m = Swift.max(m, x[i])
            i += 1
        }
        return m
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: V.self) * UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
            i += 8
        }
        var s = acc.sum()
        while i < n {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }

    /// y[i] += alpha * x[i]
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let a = V(repeating: alpha)
        while i + 8 <= n {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: V.self) + a * UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: V.self)
            i += 8
        }
        while i < n {
            y[i] += alpha * x[i]
            i += 1
        }
    }
}
