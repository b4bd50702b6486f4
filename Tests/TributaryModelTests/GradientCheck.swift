import Testing
@testable import TributaryModel

/// Central finite differences of a scalar function with respect to x[i].
func numericGradient(_ x: UnsafeMutablePointer<Float>, _ i: Int, eps: Float = 1e-2, _ f: () -> Double) -> Double {
    let old = x[i]
    x[i] = old + eps
    let plus = f()
    x[i] = old - eps
    let minus = f()
    x[i] = old
    return (plus - minus) / Double(2 * eps)
}

/// Relative error with a floor, the usual gradient-check metric.
func relativeError(_ a: Double, _ b: Double, floor: Double = 1e-2) -> Double {
    abs(a - b) / max(abs(a) + abs(b), floor)
}

func randomBuffer(_ n: Int, _ rng: inout RNG, scale: Double = 1) -> FloatBuffer {
    let b = FloatBuffer(count: n)
    for i in 0..<n { b[i] = Float(rng.normal() * scale) }
    return b
}

/// Σ out ⊙ r, the linear functional whose gradient w.r.t. out is r.
func weightedSum(_ out: FloatBuffer, _ r: FloatBuffer) -> Double {
    var s = 0.0
    for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
    return s
}

/// Checks analytic against numeric gradients at `indices`; records every mismatch.
func expectGradientsMatch(_ label: String, analytic: FloatBuffer, x: UnsafeMutablePointer<Float>, indices: [Int],
                          tolerance: Double = 2e-2, eps: Float = 1e-2, f: () -> Double) {
    var worst = 0.0
    for i in indices {
        let num = numericGradient(x, i, eps: eps, f)
        let err = relativeError(Double(analytic[i]), num)
        worst = max(worst, err)
        #expect(err < tolerance, "\(label)[\(i)]: analytic \(analytic[i]) numeric \(num)")
    }
    _ = worst
}
