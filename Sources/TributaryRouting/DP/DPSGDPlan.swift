import Foundation
import TributaryCore

/// One (ε, δ) for a whole contribution trained with DP-SGD: the routing signature takes a share of ε
/// (its own `PrivacyPlan`), and DP-SGD's noise multiplier is the smallest that keeps the signature's
/// releases and the training steps, composed by one RDP accountant, within ε. The unit is one
/// document throughout.
public struct DPSGDPlan: Sendable {
    public let targetEpsilon: Double
    public let delta: Double
    /// The signature's plan, made at a share of ε (`defaultSignatureShare` unless the owner says).
    public let signature: PrivacyPlan
    public let samplingRate: Double
    public let privateSteps: Int
    public let noiseMultiplier: Double
    /// The composed total the accountant certifies (≤ targetEpsilon).
    public let epsilon: Double

    /// The share of ε the signature gets by default: a signature needs little (a few noisy means),
    /// DP-SGD's many steps need the rest.
    public static let defaultSignatureShare = 0.25

    /// `signature`: the signature's plan, made at a share of `target` (its δ is the contribution's).
    public init(epsilon target: Double, signature: PrivacyPlan, samplingRate q: Double, privateSteps: Int) throws {
        guard signature.epsilon < target else {
            throw TributaryError("dp.invalid_options", "the signature's ε \(signature.epsilon) leaves nothing of ε = \(target) for DP-SGD")
        }
        guard q > 0, q <= 1, privateSteps > 0 else {
            throw TributaryError("dp.invalid_options", "DP-SGD needs a sampling rate in (0, 1] and at least one private step (got \(q), \(privateSteps))")
        }
        let delta = signature.delta
        func total(_ z: Double) -> Double {
            var acc = RDPAccountant()
            for r in signature.releases { acc.addGaussian(noiseMultiplier: r.noiseMultiplier, count: r.count) }
            acc.addSampledGaussian(samplingRate: q, noiseMultiplier: z, count: privateSteps)
            return acc.epsilon(delta: delta).epsilon
        }
        // The total falls as z grows, towards the signature's own ε (< target): bracket, then bisect.
        var lo = 0.05, hi = 1.0
        while total(hi) > target { hi *= 2; if hi > 1e5 { throw TributaryError("dp.unreachable", "no DP-SGD noise reaches ε = \(target)") } }
        if total(lo) <= target { hi = lo }
        for _ in 0..<60 where hi - lo > 1e-6 * hi {
            let mid = (lo + hi) / 2
            if total(mid) <= target { hi = mid } else { lo = mid }
        }
        targetEpsilon = target
        self.delta = delta
        self.signature = signature
        samplingRate = q
        self.privateSteps = privateSteps
        noiseMultiplier = hi
        epsilon = total(hi)
    }

    /// What the statement declares.
    public func declaration(clipNorm: Double, documents: Int) -> TrainingPrivacy {
        TrainingPrivacy(samplingRate: samplingRate, noiseMultiplier: noiseMultiplier, clipNorm: clipNorm, privateSteps: privateSteps,
                        documents: documents, epsilon: epsilon, delta: delta)
    }
}

/// What an owner asks of DP-SGD: the clip norm, and the signature's share of the contribution's ε.
public struct DPSGDRequest: Sendable, Equatable {
    public var clipNorm = 1.0
    public var signatureShare = DPSGDPlan.defaultSignatureShare
    public init() {}

    public func validate() throws {
        guard clipNorm > 0, clipNorm.isFinite else { throw TributaryError("train.invalid_options", "--dp-sgd-clip must be positive") }
        guard signatureShare > 0, signatureShare < 1 else {
            throw TributaryError("train.invalid_options", "--signature-epsilon-share must be in (0, 1), got \(signatureShare)")
        }
    }
}
