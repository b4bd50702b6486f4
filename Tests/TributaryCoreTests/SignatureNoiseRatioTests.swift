import Testing
import TributaryCore

/// The server's usable-signature rule (SPEC §6.5): a centroid's DP noise against its count, the
/// count judged one standard deviation up because it is noisy itself.
@Suite struct SignatureNoiseRatioTests {
    let policy = ContributionPolicy()
    // The demo's acme at ε = 1: 32 dimensions, sums' noise multiplier 4.69, counts' 4 × 4.69.
    let d = 32, z = 4.69, zc = 4 * 4.69

    func check(count: Float, countNoise: Double?) throws(PolicyViolation) {
        try policy.checkRouting(rows: [], anchorRows: [], expertLayers: [], hidden: 4, centroids: [Float](repeating: 0.1, count: d),
                                counts: [count], centroidDimension: d, sumNoise: z, countNoise: countNoise)
    }

    @Test func aLowNoisyCountOfAnHonestCentroidIsNotRefused() throws {
        // 63 documents published as 20 (a draw 2.3σ low): 26.5 / 20 > 1 alone, but 20 + σ = 38.8.
        try check(count: 20, countNoise: zc)
        #expect(throws: PolicyViolation.self) { try check(count: 20, countNoise: nil) }
    }

    @Test func aCentroidTooSmallEvenAtItsUpperBoundIsRefused() {
        // With a count's noise of 1: 20 + 1 = 21 documents cannot carry noise of norm 26.5.
        #expect(throws: PolicyViolation.self) { try check(count: 20, countNoise: 1) }
        // Under the honest schedule a count of 1 is refused (1 + 18.8 < 26.5)...
        #expect(throws: PolicyViolation.self) { try check(count: 1, countNoise: zc) }
        // ...and declaring a huge count noise does not switch the rule off: it is capped at 4 z.
        #expect(throws: PolicyViolation.self) { try check(count: 1, countNoise: 1e6) }
        // A published count of zero or below is refused whatever its noise.
        #expect(throws: PolicyViolation.self) { try check(count: 0, countNoise: zc) }
        #expect(throws: PolicyViolation.self) { try check(count: -3, countNoise: zc) }
    }
}
