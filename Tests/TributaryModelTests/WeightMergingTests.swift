import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// The weight-merging baselines: TIES's trim, sign election and disjoint mean on vectors worked by
/// hand, and the merged dense models built from an MoE's experts.
@Suite struct WeightMergingTests {
    let config = ModelConfig(hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 24, contextLength: 16)

    @Test func tiesTrimsElectsAndAveragesTheAgreeingValues() {
        let base: [Float] = [1, 1, 1, 1, 1]
        // Task vectors: [+4, -1, +2, 0, -3] and [+2, +3, -6, +1, -1].
        let a: [Float] = [5, 0, 3, 1, -2], b: [Float] = [3, 4, -5, 2, 0]
        #expect(WeightMerging.trim([4, -1, 2, 0, -3], density: 0.4) == [4, 0, 0, 0, -3])
        #expect(WeightMerging.trim([1, 2], density: 0) == [0, 0] && WeightMerging.trim([1, 2], density: 1) == [1, 2])
        // Small integers and halves: every sum here is exact in Float, so == is safe.
        // Density 0.6 keeps 3 of 5: [+4, 0, +2, 0, -3] and [+2, +3, -6, 0, 0]. Sums: +6, +3, -4, 0, -3;
        // weight 0 averages +4 and +2; weight 2 elects "-", so only -6 counts; weight 3 has no vote left.
        let merged = WeightMerging.ties(base: base, experts: [a, b], density: 0.6, lambda: 1)
        #expect(merged == [4, 4, -5, 1, -2])
        #expect(WeightMerging.ties(base: base, experts: [a, b], density: 0.6, lambda: 0.5) == [2.5, 2.5, -2, 1, -0.5])
        #expect(WeightMerging.taskArithmetic(base: base, experts: [a, b], lambda: 1) == [7, 3, -3, 2, -3])
    }

    /// One contributed expert: task arithmetic (λ = 1) and TIES at density 1 give that owner's dense
    /// model exactly; the soup halves its change.
    @Test func mergingOneExpertGivesItsModel() throws {
        let anchor = Model.initialised(config: config, seed: 1), other = Model.initialised(config: config, seed: 2)
        let rows = [Float](repeating: 0, count: config.numLayers * config.hiddenSize)
        let moe = try ExpertAssembly.assemble(anchor: anchor, experts: [ExpertWeights(denseFFNOf: anchor), ExpertWeights(denseFFNOf: other)],
                                              routerRows: [rows, rows], topK: 2)
        let expected = ExpertWeights(denseFFNOf: other), a = ExpertWeights(denseFFNOf: anchor)
        for merged in [WeightMerging.taskArithmetic(moe), WeightMerging.ties(moe, density: 1)] {
            #expect(!merged.config.isMoE)
            let w = ExpertWeights(denseFFNOf: merged)
            // x0 + (x1 - x0) is x1 up to one rounding of each operation.
            for l in 0..<config.numLayers {
                #expect(zip(w.w1[l], expected.w1[l]).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
                #expect(zip(w.w2[l], expected.w2[l]).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
            }
            // Shared weights are the anchor's.
            let e = merged.layout.tensor(named: TensorNames.embedTokens)!, ea = anchor.layout.tensor(named: TensorNames.embedTokens)!
            #expect(memcmp(merged.parameters.pointer + e.offset, anchor.parameters.pointer + ea.offset, e.count * 4) == 0)
        }
        let soup = ExpertWeights(denseFFNOf: WeightMerging.uniformSoup(moe))
        #expect(zip(soup.w3[1], zip(a.w3[1], expected.w3[1])).allSatisfy { abs($0 - ($1.0 + $1.1) / 2) <= 1e-6 })
    }
}
