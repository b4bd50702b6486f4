import Foundation

/// The analytic Gaussian mechanism (Balle & Wang, ICML 2018, Theorem 8): the exact privacy of adding
/// N(0, σ²) noise to a query of L2 sensitivity Δ, valid for every ε — unlike the textbook
/// σ = Δ·sqrt(2 ln(1.25/δ))/ε, which only holds for ε ≤ 1 and overestimates σ even there.
public enum AnalyticGaussian {
    /// Standard normal CDF.
    static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// δ(ε) = Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ): the smallest δ for which N(0, σ²) is (ε, δ)-DP.
    public static func delta(sigma: Double, epsilon: Double, sensitivity: Double = 1) -> Double {
        let a = sensitivity / (2 * sigma), b = epsilon * sigma / sensitivity
        let first = phi(a - b)
        let tail = phi(-a - b)
        // e^ε Φ(·) in logs, so large ε does not overflow where Φ has underflowed.
        let second = tail > 0 ? exp(epsilon + log(tail)) : 0
        return max(0, first - second)
    }

    /// The smallest σ making the mechanism (ε, δ)-DP, by bisection on the exact δ (decreasing in σ).
    public static func sigma(epsilon: Double, delta: Double, sensitivity: Double = 1) -> Double {
        precondition(epsilon > 0 && delta > 0 && delta < 1)
        var lo = 1e-6 * sensitivity, hi = sensitivity
        while Self.delta(sigma: hi, epsilon: epsilon, sensitivity: sensitivity) > delta { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if Self.delta(sigma: mid, epsilon: epsilon, sensitivity: sensitivity) > delta { lo = mid } else { hi = mid }
        }
        return hi
    }

    /// The smallest ε for which N(0, σ²) at sensitivity Δ is (ε, δ)-DP (δ is decreasing in ε).
    public static func epsilon(sigma: Double, delta: Double, sensitivity: Double = 1) -> Double {
        precondition(sigma > 0 && delta > 0 && delta < 1)
        if Self.delta(sigma: sigma, epsilon: 0, sensitivity: sensitivity) <= delta { return 0 }
        var lo = 0.0, hi = 1.0
        while Self.delta(sigma: sigma, epsilon: hi, sensitivity: sensitivity) > delta { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if Self.delta(sigma: sigma, epsilon: mid, sensitivity: sensitivity) > delta { lo = mid } else { hi = mid }
        }
        return hi
    }

    /// The textbook calibration, for comparison only.
    public static func classicalSigma(epsilon: Double, delta: Double, sensitivity: Double = 1) -> Double {
        sensitivity * (2 * log(1.25 / delta)).squareRoot() / epsilon
    }
}
