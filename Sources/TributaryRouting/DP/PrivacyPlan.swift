import Foundation
import TributaryCore

/// How much noise each released quantity of a routing signature gets, for a target (ε, δ).
///
/// Every release is a Gaussian mechanism. Each is calibrated with the analytic Gaussian mechanism to a
/// per-release (ε₀, δ₀ = δ / 2m) over m releases; ε₀ is then raised as far as the RDP accountant's
/// composed total still meets the owner's (ε, δ). The statement records the RDP total, which is what
/// the owner is promised; the exact Gaussian-DP total (tighter) is reported too.
public struct PrivacyPlan: Sendable {
    public struct Release: Sendable {
        public let name: String
        public let count: Int
        /// σ / Δ
        public let noiseMultiplier: Double
    }

    public let targetEpsilon: Double
    public let delta: Double
    public let releases: [Release]
    /// What the accountant certifies (≤ targetEpsilon).
    public let epsilon: Double
    public let exactEpsilon: Double
    public let perReleaseEpsilon: Double

    /// `releases`: name and how many times it is released (e.g. DP-Lloyd's sums once per iteration).
    public init(epsilon target: Double, delta: Double, releases spec: [(name: String, count: Int)]) throws {
        guard target > 0, target.isFinite else { throw TributaryError("dp.invalid_epsilon", "--epsilon must be positive, got \(target)") }
        guard delta > 0, delta < 1 else { throw TributaryError("dp.invalid_delta", "--delta must be in (0, 1), got \(delta)") }
        let m = spec.reduce(0) { $0 + $1.count }
        precondition(m > 0)
        let delta0 = delta / Double(2 * m)
        func accountant(_ eps0: Double) -> RDPAccountant {
            let z = AnalyticGaussian.sigma(epsilon: eps0, delta: delta0)
            var acc = RDPAccountant()
            acc.addGaussian(noiseMultiplier: z, count: m)
            return acc
        }
        // The composed ε grows with ε₀; find the largest ε₀ that keeps it within the target.
        var lo = 1e-6, hi = target
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if accountant(mid).epsilon(delta: delta).epsilon <= target { lo = mid } else { hi = mid }
        }
        let acc = accountant(lo)
        let z = AnalyticGaussian.sigma(epsilon: lo, delta: delta0)
        targetEpsilon = target
        self.delta = delta
        releases = spec.map { Release(name: $0.name, count: $0.count, noiseMultiplier: z) }
        epsilon = acc.epsilon(delta: delta).epsilon
        exactEpsilon = acc.exactGaussianEpsilon(delta: delta)
        perReleaseEpsilon = lo
    }

    public func noiseMultiplier(_ name: String) -> Double {
        releases.first { $0.name == name }!.noiseMultiplier
    }
}
