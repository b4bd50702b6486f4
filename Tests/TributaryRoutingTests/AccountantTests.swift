import Foundation
import Testing
import TributaryCore
@testable import TributaryRouting

@Suite struct AccountantTests {
    /// TensorFlow Privacy, rdp_accountant_test.py `test_compute_rdp_no_sampling`: without subsampling the
    /// Gaussian mechanism's RDP is α/(2σ²); σ = 10, α = 20 gives 0.1 (Mironov 2017, Proposition 7).
    @Test func gaussianRDPMatchesTFPrivacy() {
        var acc = RDPAccountant()
        acc.addGaussian(noiseMultiplier: 10)
        let i = RDPAccountant.orders.firstIndex(of: 20)!
        #expect(abs(acc.rdp[i] - 0.1) < 1e-15)
    }

    /// Balle & Wang (ICML 2018) Theorem 8 in the closed form TensorFlow Privacy's
    /// `test_get_privacy_spent_gaussian` uses for σ = 1: δ(ε) = erfc((ε − ½)/√2)/2 − e^ε erfc((ε + ½)/√2)/2.
    @Test func analyticDeltaMatchesClosedForm() {
        for eps in stride(from: 0.0, through: 6.0, by: 0.5) {
            let closed = erfc((eps - 0.5) / 2.0.squareRoot()) / 2 - exp(eps) * erfc((eps + 0.5) / 2.0.squareRoot()) / 2
            #expect(abs(AnalyticGaussian.delta(sigma: 1, epsilon: eps) - closed) < 1e-12)
        }
    }

    /// The same TF Privacy test's ordering: the exact (analytic) guarantee is at least as good as the RDP
    /// one, which is at least as good as the "standard" bound δ = exp(−(ε − ½)²/2), for σ = 1.
    @Test func exactBeatsRDPBeatsStandardBound() {
        var acc = RDPAccountant()
        acc.addGaussian(noiseMultiplier: 1)
        for delta in [1e-1, 1e-2, 1e-3, 1e-5, 1e-8, 1e-12] {
            let exact = AnalyticGaussian.epsilon(sigma: 1, delta: delta)
            let rdp = acc.epsilon(delta: delta).epsilon
            let standard = 0.5 + (2 * log(1 / delta)).squareRoot()
            #expect(exact <= rdp + 1e-9, "δ=\(delta): exact \(exact) rdp \(rdp)")
            #expect(rdp <= standard + 1e-9, "δ=\(delta): rdp \(rdp) standard \(standard)")
            #expect(acc.epsilon(delta: delta).epsilon <= acc.epsilonMironov(delta: delta) + 1e-12)
        }
    }

    /// Reference values from SciPy (`brentq` on Balle & Wang's Theorem 8 with `scipy.stats.norm.cdf`),
    /// independent of this code: σ(ε=1, δ=1e-5) = 3.730632, σ(2, 1e-5) = 1.993812, σ(1, 1e-6) = 4.224679;
    /// the textbook formula gives 4.844805 for the first.
    @Test func analyticCalibrationReferenceValues() {
        #expect(abs(AnalyticGaussian.sigma(epsilon: 1, delta: 1e-5) - 3.730632) < 1e-5)
        #expect(abs(AnalyticGaussian.sigma(epsilon: 2, delta: 1e-5) - 1.993812) < 1e-5)
        #expect(abs(AnalyticGaussian.sigma(epsilon: 1, delta: 1e-6) - 4.224679) < 1e-5)
        #expect(abs(AnalyticGaussian.classicalSigma(epsilon: 1, delta: 1e-5) - 4.844805) < 1e-5)
        #expect(abs(AnalyticGaussian.sigma(epsilon: 1, delta: 1e-5, sensitivity: 3) - 3 * 3.730632) < 1e-4)
    }

    /// Balle & Wang's abstract: analytical calibration removes at least a third of the classical variance.
    @Test func analyticRemovesAtLeastAThirdOfTheVariance() {
        for eps in [0.1, 0.5, 1.0] {
            let a = AnalyticGaussian.sigma(epsilon: eps, delta: 1e-5), c = AnalyticGaussian.classicalSigma(epsilon: eps, delta: 1e-5)
            #expect(a * a <= 2.0 / 3.0 * c * c, "ε=\(eps)")
        }
        // And it works where the classical formula is invalid (ε > 1).
        #expect(AnalyticGaussian.delta(sigma: AnalyticGaussian.sigma(epsilon: 8, delta: 1e-5), epsilon: 8) <= 1e-5 * (1 + 1e-9))
    }

    @Test func calibrationInvertsItself() {
        for (eps, delta) in [(0.1, 1e-6), (1.0, 1e-5), (4.0, 1e-8), (20.0, 1e-6)] {
            let s = AnalyticGaussian.sigma(epsilon: eps, delta: delta)
            #expect(abs(AnalyticGaussian.epsilon(sigma: s, delta: delta) - eps) < 1e-6 * max(1, eps))
        }
    }

    /// Gaussian DP (Dong, Roth & Su 2019): k Gaussian mechanisms with noise multiplier z compose to one
    /// with z/√k exactly.
    @Test func exactCompositionIsOneGaussian() {
        var acc = RDPAccountant()
        acc.addGaussian(noiseMultiplier: 6, count: 9)
        #expect(abs(acc.exactGaussianEpsilon(delta: 1e-6)! - AnalyticGaussian.epsilon(sigma: 2, delta: 1e-6)) < 1e-9)
        #expect(acc.exactGaussianEpsilon(delta: 1e-6)! < acc.epsilon(delta: 1e-6).epsilon)
    }

    @Test func planMeetsTheTargetTightly() throws {
        for target in [0.5, 1.0, 4.0, 8.0] {
            let plan = try PrivacyPlan(epsilon: target, delta: 1e-6, releases: [(.centroidSums, 4, 1), (.centroidCounts, 4, 1), (.routerRows, 1, 1)])
            #expect(plan.epsilon <= target)
            #expect(plan.epsilon > 0.99 * target)
            #expect(plan.exactEpsilon <= plan.epsilon)
            // Recompose independently.
            var acc = RDPAccountant()
            acc.addGaussian(noiseMultiplier: plan.noiseMultiplier(.centroidSums)!, count: 9)
            #expect(abs(acc.epsilon(delta: 1e-6).epsilon - plan.epsilon) < 1e-9)
        }
        let strict = try PrivacyPlan(epsilon: 0.5, delta: 1e-6, releases: [(.centroidSums, 9, 1)])
        let loose = try PrivacyPlan(epsilon: 4, delta: 1e-6, releases: [(.centroidSums, 9, 1)])
        #expect(strict.noiseMultiplier(.centroidSums)! > loose.noiseMultiplier(.centroidSums)!)
        // Weighted releases: the heavier-noised one consumes less of the budget.
        let weighted = try PrivacyPlan(epsilon: 1, delta: 1e-6, releases: [(.centroidSums, 3, 1), (.centroidCounts, 3, 4)])
        #expect(abs(weighted.noiseMultiplier(.centroidCounts)! - 4 * weighted.noiseMultiplier(.centroidSums)!) < 1e-9)
        var acc = RDPAccountant()
        acc.addGaussian(noiseMultiplier: weighted.noiseMultiplier(.centroidSums)!, count: 3)
        acc.addGaussian(noiseMultiplier: weighted.noiseMultiplier(.centroidCounts)!, count: 3)
        #expect(abs(acc.epsilon(delta: 1e-6).epsilon - weighted.epsilon) < 1e-9 && weighted.epsilon <= 1)
        #expect(throws: Error.self) { _ = try PrivacyPlan(epsilon: 0, delta: 1e-6, releases: [(.centroidSums, 1, 1)]) }
        #expect(throws: Error.self) { _ = try PrivacyPlan(epsilon: 1, delta: 1, releases: [(.centroidSums, 1, 1)]) }
    }
}
