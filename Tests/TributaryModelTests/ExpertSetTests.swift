import Foundation
import Testing
@testable import TributaryModel

/// Expert sets of any size: the gate picks the top-k among a token's allowed experts, however many
/// experts there are (32-bit masks silently never allowed expert 32 and above).
@Suite struct ExpertSetTests {
    @Test func setsAreSortedUniqueAndAnswerMembership() {
        let s = ExpertSet([35, 0, 35, 7])
        #expect(s.members == [0, 7, 35])
        #expect(s.contains(35) && s.contains(0) && !s.contains(8) && !s.contains(100))
        #expect(ExpertSet.all.contains(1_000_000) && ExpertSet.all.members == nil)
        #expect(ExpertSet([]).members == [] && !ExpertSet([]).contains(0))
        #expect(ExpertSet([0, 35]).description == "{0,35}")
    }

    @Test func gatingChoosesAmongTheAllowedExpertsBeyond32() {
        let E = 40
        var logits = (0..<E).map { Float($0) / 10 }   // expert 39 highest overall
        logits[35] = 9
        var chosen = [-1, -1], gates = [Float](repeating: 0, count: 2)
        func gate(_ allowed: ExpertSet) {
            logits.withUnsafeBufferPointer { MoEWorkspace.topK(logits: $0.baseAddress!, experts: E, allowed: allowed, chosen: &chosen, gates: &gates) }
        }
        gate(ExpertSet([0, 35]))
        #expect(chosen == [35, 0])
        // Softmax over the two kept logits; 1e-6 allows for FastMath.exp's approximation.
        let expected = 1 / (1 + expf(logits[0] - 9))
        #expect(abs(gates[0] - expected) < 1e-6 && abs(gates[0] + gates[1] - 1) < 1e-6)
        gate(.all)
        #expect(chosen == [35, 39])
        gate(ExpertSet([38]))
        #expect(chosen == [38, -1] && gates == [1, 0])
        gate(ExpertSet([41, 50]))   // none of these exist
        #expect(chosen == [-1, -1])
    }
}
