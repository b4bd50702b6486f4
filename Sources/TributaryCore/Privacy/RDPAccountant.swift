import Foundation

/// Rényi-DP accountant for compositions of Gaussian mechanisms (Mironov, CSF 2017).
///
/// A Gaussian mechanism with noise multiplier z = σ/Δ is (α, α/(2z²))-RDP for every order α > 1
/// (Mironov, Proposition 7); RDP composes by adding per order. Conversion to (ε, δ) uses the bound of
/// Canonne, Kamath & Steinke (2020) / Balle et al. (2020):
///     ε = min_α  RDP(α) + log((α−1)/α) − (log δ + log α)/(α − 1),
/// which is never worse than Mironov's RDP(α) + log(1/δ)/(α − 1).
public struct RDPAccountant: Sendable {
    public static let orders: [Double] = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 10, 12, 14, 16,
                                          20, 24, 28, 32, 40, 48, 56, 64, 96, 128, 192, 256, 512, 1024]
    public private(set) var rdp: [Double] = Array(repeating: 0, count: RDPAccountant.orders.count)
    /// The mechanisms composed so far, as (noise multiplier, count).
    public private(set) var events: [(noiseMultiplier: Double, count: Int)] = []

    public init() {}

    /// Composes `count` Gaussian mechanisms with noise multiplier z (σ divided by L2 sensitivity).
    public mutating func addGaussian(noiseMultiplier z: Double, count: Int = 1) {
        precondition(z > 0 && count >= 0)
        for (i, a) in Self.orders.enumerated() { rdp[i] += Double(count) * a / (2 * z * z) }
        events.append((z, count))
    }

    /// Composes `count` Poisson-sampled Gaussian mechanisms (DP-SGD steps): each record is in the
    /// batch with probability `q`, the batch's clipped sum gets noise multiplier z (`SampledGaussian`).
    public mutating func addSampledGaussian(samplingRate q: Double, noiseMultiplier z: Double, count: Int = 1) {
        precondition(z > 0 && count >= 0 && (0...1).contains(q))
        for (i, a) in Self.orders.enumerated() { rdp[i] += Double(count) * SampledGaussian.rdp(q: q, noiseMultiplier: z, order: a) }
        sampled.append((q, z, count))
    }

    /// The sampled mechanisms composed so far, as (sampling rate, noise multiplier, count).
    public private(set) var sampled: [(samplingRate: Double, noiseMultiplier: Double, count: Int)] = []

    /// (ε, order) for the given δ.
    public func epsilon(delta: Double) -> (epsilon: Double, order: Double) {
        precondition(delta > 0 && delta < 1)
        var best = (Double.infinity, Self.orders[0])
        for (i, a) in Self.orders.enumerated() {
            let eps = rdp[i] + log((a - 1) / a) - (log(delta) + log(a)) / (a - 1)
            if eps < best.0 { best = (eps, a) }
        }
        return (max(0, best.0), best.1)
    }

    /// Mironov's original conversion, kept to show the improved one is tighter.
    public func epsilonMironov(delta: Double) -> Double {
        var best = Double.infinity
        for (i, a) in Self.orders.enumerated() { best = min(best, rdp[i] + log(1 / delta) / (a - 1)) }
        return max(0, best)
    }

    /// The exact ε of the same composition: k Gaussian mechanisms compose to one Gaussian mechanism
    /// with μ = sqrt(Σ 1/z²) (Dong, Roth & Su, Gaussian DP, 2019), whose (ε, δ) curve is the analytic
    /// Gaussian's. Reported alongside the RDP figure; never larger than it. Nil once a sampled
    /// mechanism is composed (a subsampled Gaussian is not a Gaussian: no such closed form).
    public func exactGaussianEpsilon(delta: Double) -> Double? {
        guard sampled.isEmpty else { return nil }
        let mu2 = events.reduce(0) { $0 + Double($1.count) / ($1.noiseMultiplier * $1.noiseMultiplier) }
        guard mu2 > 0 else { return 0 }
        return AnalyticGaussian.epsilon(sigma: 1 / mu2.squareRoot(), delta: delta)
    }
}
