import Foundation

/// Rényi DP of the Poisson-sampled Gaussian mechanism (Mironov, Talwar & Zhang, "Rényi Differential
/// Privacy of the Sampled Gaussian Mechanism", 2019): each record joins the batch independently with
/// probability q, the batch's clipped sum gets N(0, (zC)²) noise. At order α the mechanism is
/// (α, log A_α / (α − 1))-RDP with
///     integer α (§3.2):  A_α = Σ_{k=0..α} C(α,k) (1−q)^{α−k} q^k exp((k² − k) / (2z²))
///     fractional α (§3.3): A_α = Σ_{k≥0} C(α,k) (1−q)^{α−k} q^k exp((k² − k)/(2z²)) ½erfc((k − z₀)/(√2 z))
///                             + Σ_{k≥0} C(α,k) (1−q)^k q^{α−k} exp(((α−k)² − (α−k))/(2z²)) ½erfc((z₀ − (α−k))/(√2 z))
///                          with z₀ = z² log(1/q − 1) + ½.
/// Both are computed in log space (the terms span hundreds of orders of magnitude); the fractional
/// series, whose binomial coefficients change sign past k = α, is summed with signs until its terms
/// fall below e⁻³⁰ of the total.
public enum SampledGaussian {
    /// RDP at `order` of one Poisson-sampled Gaussian with sampling rate `q` and noise multiplier `z`.
    public static func rdp(q: Double, noiseMultiplier z: Double, order a: Double) -> Double {
        precondition((0...1).contains(q) && z > 0 && a > 1)
        if q == 0 { return 0 }
        if q == 1 { return a / (2 * z * z) }
        let logA = a == a.rounded() && a < 1e6 ? logAInteger(q: q, z: z, order: Int(a)) : logAFractional(q: q, z: z, order: a)
        return max(0, logA / (a - 1))
    }

    static func logAInteger(q: Double, z: Double, order a: Int) -> Double {
        var terms = [Double]()
        terms.reserveCapacity(a + 1)
        for k in 0...a {
            let kk = Double(k)
            terms.append(logBinomial(Double(a), k) + Double(a - k) * log1p(-q) + kk * log(q) + (kk * kk - kk) / (2 * z * z))
        }
        return logSumExp(terms)
    }

    static func logAFractional(q: Double, z: Double, order a: Double) -> Double {
        let z0 = z * z * log(1 / q - 1) + 0.5
        var sum = SignedLogSum()
        var logCoefficient = 0.0, coefficientSign = 1.0  // log |C(a, k)| and its sign, from k = 0
        var k = 0
        while true {
            let i = Double(k), j = a - i
            let t0 = logCoefficient + i * log(q) + j * log1p(-q) + (i * i - i) / (2 * z * z) + logHalfErfc((i - z0) / (2.0.squareRoot() * z))
            let t1 = logCoefficient + j * log(q) + i * log1p(-q) + (j * j - j) / (2 * z * z) + logHalfErfc((z0 - j) / (2.0.squareRoot() * z))
            sum.add(sign: coefficientSign, log: t0)
            sum.add(sign: coefficientSign, log: t1)
            if i > a, max(t0, t1) < sum.log - 30 { break }
            // C(a, k+1) = C(a, k) (a − k) / (k + 1); the sign flips once k passes a.
            let ratio = (a - i) / (i + 1)
            if ratio < 0 { coefficientSign = -coefficientSign }
            logCoefficient += log(abs(ratio))
            k += 1
            if k > 100_000 { break }  // never reached for the orders and rates accounted here
        }
        return sum.log
    }

    /// log C(n, k) for real n ≥ k ≥ 0 (integer k).
    static func logBinomial(_ n: Double, _ k: Int) -> Double {
        lgamma(n + 1) - lgamma(Double(k) + 1) - lgamma(n - Double(k) + 1)
    }

    /// log(½ erfc(x)), accurate far into the tail where erfc underflows.
    static func logHalfErfc(_ x: Double) -> Double {
        if x < 5 { return log(0.5 * erfc(x)) }
        // erfc(x) ~ exp(−x²)/(x√π) (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶)): relative error < 1e-5 at x = 5.
        let x2 = x * x
        return -x2 - log(x) - 0.5 * log(Double.pi) + log(0.5) + log(1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2))
    }

    static func logSumExp(_ xs: [Double]) -> Double {
        guard let m = xs.max(), m > -.infinity else { return -.infinity }
        return m + log(xs.reduce(0) { $0 + exp($1 - m) })
    }
}

/// A sum of signed terms held as log|·|, for series whose terms change sign.
struct SignedLogSum {
    private(set) var log = -Double.infinity
    private var positive = true

    mutating func add(sign: Double, log t: Double) {
        guard t > -.infinity else { return }
        let termPositive = sign > 0
        if log == -.infinity { (log, positive) = (t, termPositive); return }
        let (hi, lo) = Swift.max(log, t) == log ? (log, t) : (t, log)
        let hiPositive = hi == log ? positive : termPositive
        if termPositive == positive {
            log = hi + log1p(exp(lo - hi))
        } else {
            // |hi| − |lo|, with hi's sign; the total of an RDP series stays positive.
            log = hi + log1p(-exp(lo - hi))
            positive = hiPositive
        }
    }
}
