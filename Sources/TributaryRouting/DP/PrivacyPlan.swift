import Foundation
import TributaryCore

/// How much noise each released quantity of a routing signature gets, for a target (ε, δ).
///
/// Every release is a Gaussian mechanism whose noise multiplier (σ / sensitivity) is `weight · z`.
/// The base z is the analytic Gaussian calibration (Balle & Wang 2018) of a per-release (ε₀, δ/2m)
/// over the m releases, and ε₀ is raised as far as the RDP accountant's composed total still meets the
/// owner's (ε, δ). The statement records the RDP total, which is what the owner is promised; the exact
/// Gaussian-DP total (tighter) is reported alongside.
public struct PrivacyPlan: Sendable {
    public struct Release: Sendable {
        public let name: DPRelease
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

    /// `releases`: name, how many times it is released, and its noise relative to the others (a count
    /// that only decides whether a cluster is published can take 4x the noise of a centroid sum).
    public init(epsilon target: Double, delta: Double, releases spec: [(name: DPRelease, count: Int, weight: Double)]) throws {
        guard target > 0, target.isFinite else { throw TributaryError("dp.invalid_epsilon", "--epsilon must be positive, got \(target)") }
        guard delta > 0, delta < 1 else { throw TributaryError("dp.invalid_delta", "--delta must be in (0, 1), got \(delta)") }
        let m = spec.reduce(0) { $0 + $1.count }
        precondition(m > 0 && spec.allSatisfy { $0.weight > 0 })
        let delta0 = delta / Double(2 * m)
        func accountant(_ eps0: Double) -> RDPAccountant {
            let z = AnalyticGaussian.sigma(epsilon: eps0, delta: delta0)
            var acc = RDPAccountant()
            for r in spec where r.count > 0 { acc.addGaussian(noiseMultiplier: r.weight * z, count: r.count) }
            return acc
        }
        // The composed ε grows with ε₀; find the largest ε₀ that keeps it within the target.
        var lo = 1e-6, hi = target
        while accountant(hi).epsilon(delta: delta).epsilon <= target { hi *= 2 }
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if accountant(mid).epsilon(delta: delta).epsilon <= target { lo = mid } else { hi = mid }
        }
        let acc = accountant(lo)
        let z = AnalyticGaussian.sigma(epsilon: lo, delta: delta0)
        targetEpsilon = target
        self.delta = delta
        releases = spec.map { Release(name: $0.name, count: $0.count, noiseMultiplier: $0.weight * z) }
        epsilon = acc.epsilon(delta: delta).epsilon
        exactEpsilon = acc.exactGaussianEpsilon(delta: delta)!  // the plan composes Gaussians only
    }

    /// The noise multiplier of a release, nil when the plan has no such release.
    public func noiseMultiplier(_ name: DPRelease) -> Double? {
        releases.first { $0.name == name }?.noiseMultiplier
    }

    public var releaseCount: Int { releases.reduce(0) { $0 + $1.count } }
}
