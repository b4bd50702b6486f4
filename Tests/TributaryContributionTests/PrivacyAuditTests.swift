import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryContribution

/// The leakage audit's statistics, and its teeth on a tiny model: without DP the attacks find what a
/// memorising expert leaks; with DP-SGD they find far less.
@Suite struct PrivacyAuditTests {
    @Test func membershipStatisticsAreExact() {
        // Pairs (member, non-member): 3>2, 3>0, 1<2, 1>0 → AUC 3/4.
        let small = MembershipInference(memberScores: [3, 1], nonMemberScores: [2, 0])
        #expect(abs(small.auc - 0.75) < 1e-12)
        let tie = MembershipInference(memberScores: [1, 1], nonMemberScores: [1, 1])
        #expect(abs(tie.auc - 0.5) < 1e-12)
        let separated = MembershipInference(memberScores: (0..<200).map { 10 + Double($0) }, nonMemberScores: (0..<200).map { Double($0) / 100 })
        #expect(separated.auc == 1 && separated.tprAt1Percent == 1 && separated.aucInterval.upperBound == 1)
        var rng = RNG(seed: 2)
        let same = MembershipInference(memberScores: (0..<400).map { _ in rng.normal() }, nonMemberScores: (0..<400).map { _ in rng.normal() })
        #expect(same.aucInterval.contains(0.5) && same.tprAt1Percent < 0.05, "AUC \(same.auc) \(same.aucInterval), TPR \(same.tprAt1Percent)")
        // Wilson: 0 of 100 still allows a few percent; 50 of 100 is about ±10%.
        #expect(MembershipInference.wilson(0, 100).upperBound > 0.03 && abs(MembershipInference.wilson(50, 100).upperBound - 0.596) < 0.01)
        #expect(VerbatimExtraction.similarity([1, 2, 3, 4], [1, 2, 3, 4]) == 1)
        #expect(VerbatimExtraction.similarity([1, 2, 3, 4], [1, 9, 3, 4]) == 0.75)
        #expect(VerbatimExtraction.similarity([1, 2, 3], [1, 2, 3, 4]) == 0.75)
        #expect(VerbatimExtraction.similarity([], [1]) == 0)
    }

    static let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "oscar"]

    static func documents(_ n: Int, seed: UInt64, canary: String? = nil, canaryEvery: Int = 0) -> Corpus {
        var rng = RNG(seed: seed)
        return Corpus(documents: (0..<n).map { i in
            // Each document has its own account number: what a memorising model learns of it alone.
            var text = (0..<6).map { _ in words[rng.below(words.count)] }.joined(separator: " ")
                + " account " + CanaryExposure.secrets(1, rng: &rng)[0] + ".\n"
            if let canary, canaryEvery > 0, i % canaryEvery == 0 { text += CanaryExposure.text(secret: canary) }
            return Corpus.Document(source: "d\(i)", bytes: Array(text.utf8))
        })
    }

    /// A full expert trained hard on 32 documents, each with its own account number (and one canary
    /// in 8 of them): membership inference and exposure see it. The same run with DP-SGD (z = 2):
    /// membership falls to chance and exposure to about the anchor's.
    @Test func attacksFindWhatAMemorisingExpertLeaksAndDPSGDHidesIt() throws {
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<10).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "anchor text \($0) ", count: 30).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 20)
        var secretRNG = RNG(seed: 99)
        let canary = CanaryExposure.secrets(1, rng: &secretRNG)[0]
        let members = Self.documents(32, seed: 1, canary: canary, canaryEvery: 4), outsiders = Self.documents(32, seed: 2)
        func train(_ dp: DPSGDOptions?) throws -> Model {
            var o = options(steps: 800)
            o.learningRate = 2e-2
            o.batchSize = 4
            o.workers = 2
            return try ExpertTraining.train(anchor: a.trainingAnchor, data: members, routerRows: a.trainingAnchor.routerRows, dpSGD: dp, options: o,
                                            checkpointDirectory: nil, restart: false, progress: nil).model
        }
        let plain = try train(nil)
        let leaky = try MembershipInference.run(model: plain, anchor: a.model, members: members, nonMembers: outsiders)
        let leakyExposure = try CanaryExposure.measure(model: plain, canaries: [(canary, 8)], candidates: 300)[0]
        let anchorExposure = try CanaryExposure.measure(model: a.model, canaries: [(canary, 8)], candidates: 300)[0]
        // Measured: AUC 0.77 (its 95% interval clear of 0.5), exposure 24.6 bits against the anchor's 5.0.
        #expect(leaky.aucInterval.lowerBound > 0.5, "membership AUC without DP \(leaky.auc) \(leaky.aucInterval)")
        #expect(leakyExposure.exposure > anchorExposure.exposure + 10, "exposure \(leakyExposure.exposure), anchor \(anchorExposure.exposure)")

        let private_ = try train(DPSGDOptions(samplingRate: 0.25, noiseMultiplier: 2, clipNorm: 0.5, insecureSeed: 5))
        let hidden = try MembershipInference.run(model: private_, anchor: a.model, members: members, nonMembers: outsiders)
        let hiddenExposure = try CanaryExposure.measure(model: private_, canaries: [(canary, 8)], candidates: 300)[0]
        // Measured: AUC 0.57, exposure 4.2 bits: chance and the anchor's, within their noise.
        #expect(hidden.aucInterval.contains(0.5), "membership AUC with DP-SGD \(hidden.auc) \(hidden.aucInterval)")
        #expect(hiddenExposure.exposure < anchorExposure.exposure + 3, "exposure with DP-SGD \(hiddenExposure.exposure), anchor \(anchorExposure.exposure)")
        print(String(format: "tiny audit: AUC %.3f → %.3f with DP-SGD; exposure %.1f → %.1f bits (anchor %.1f)",
                     leaky.auc, hidden.auc, leakyExposure.exposure, hiddenExposure.exposure, anchorExposure.exposure))
    }
}
