/// Which Gaussian releases a routing signature makes, derived in this one place: the owner's privacy
/// plan calibrates noise to it, and a server or auditor recomputes a statement's (ε, δ) from it.
public enum DPSchedule {
    /// A count only decides whether a cluster is published: it takes this many times a sum's noise.
    public static let countNoiseWeight = 4.0

    /// Rounds of (sum, count) releases of a DP-Lloyd fit that runs `iterations` iterations after its
    /// noisy initial mean (a one-cluster fit runs none: the noisy mean is the answer).
    public static func rounds(iterations: Int) -> Int { iterations + 1 }

    /// Every release: quantity, how many times, noise relative to a centroid sum's.
    public static func releases(iterations: Int, routerRows: RouterRowSource) -> [(name: DPRelease, count: Int, weight: Double)] {
        let r = rounds(iterations: iterations)
        var out: [(name: DPRelease, count: Int, weight: Double)] = [(.centroidSums, r, 1), (.centroidCounts, r, countNoiseWeight)]
        if routerRows == .dpMean { out.append((.routerRows, 1, 1)) }
        return out
    }
}

extension RoutingParameters {
    /// The ε the statement's own noise gives at its δ, by the RDP accountant (the one the owner's
    /// plan uses): the releases of `DPSchedule` with the statement's noise multipliers. Throws when DP
    /// is off, or a multiplier is missing, extra, non-positive or not finite.
    public func recomputedEpsilon() throws(PrivacyCheckError) -> Double {
        try accountant().epsilon(delta: privacy.delta!).epsilon
    }

    /// The signature's releases in an RDP accountant (to compose with other mechanisms); the same throws.
    public func accountant() throws(PrivacyCheckError) -> RDPAccountant {
        let p = privacy
        guard p.enabled, let delta = p.delta, delta > 0, delta < 1 else { throw .notPrivate }
        let releases = DPSchedule.releases(iterations: p.iterations, routerRows: routerRowSource)
        let names = Set(releases.map(\.name))
        for k in p.noiseMultipliers.keys where !names.contains(k) { throw .unexpectedRelease(k.rawValue) }
        var acc = RDPAccountant()
        for r in releases {
            guard let z = p.noiseMultipliers[r.name] else { throw .missingRelease(r.name.rawValue) }
            guard z.isFinite, z > 0, z.isNormal else { throw .badMultiplier(r.name.rawValue, z) }
            acc.addGaussian(noiseMultiplier: z, count: r.count)
        }
        return acc
    }
}

public enum PrivacyCheckError: Error, Equatable, CustomStringConvertible, Sendable {
    case notPrivate
    case missingRelease(String)
    case unexpectedRelease(String)
    case badMultiplier(String, Double)
    case deltaMismatch(signature: Double, training: Double)

    public var description: String {
        switch self {
        case .notPrivate: return "differential privacy is off"
        case let .missingRelease(n): return "no noise multiplier for the \(n) release"
        case let .unexpectedRelease(n): return "a noise multiplier for \(n), which this signature does not release"
        case let .badMultiplier(n, z): return "noise multiplier \(z) for \(n) is not a positive finite number"
        case let .deltaMismatch(s, t): return "the signature's delta \(s) and training's delta \(t) differ: one contribution has one delta"
        }
    }
}
