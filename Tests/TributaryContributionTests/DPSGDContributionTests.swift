import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution

/// A contribution trained with DP-SGD: one (ε, δ) for everything it uploads, declared in the
/// statement, recomputed by the policy check every server and auditor runs.
@Suite struct DPSGDContributionTests {
    static func owner(_ dir: TempDir, epsilon: Double = 4, dp: DPSGDRequest? = DPSGDRequest()) throws -> (ContributionPipeline.Result, VerifiedContribution) {
        let publicText = Corpus(documents: (0..<10).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "anchor \($0) ", count: 40).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 5)
        let data = Corpus(documents: (0..<64).map { Corpus.Document(source: "d\($0)", bytes: Array(String(repeating: "owner document \($0); ", count: 6).utf8)) })
        var sig = SignatureOptions()
        sig.clusters = 1
        sig.epsilon = epsilon
        sig.minSelfRouting = 0  // 64 toy documents: whether the signature routes is chance, and not this test's subject
        var noise = SeededNoise(seed: 3)
        let r = try ContributionPipeline.train(anchor: a, data: data, publicText: publicText, publicEvery: 4, training: options(steps: 8), signature: sig,
                                               dpSGD: dp, out: dir.path + "/owner", restart: false, progress: nil, noise: &noise)
        let key = try SigningKey.generate(name: "owner")
        try ContributionBundle.sign(directory: r.bundle, key: key, origin: "tributary.test/log")
        return (r, try ContributionBundle.verify(directory: r.bundle, keys: [key.verifierKey]))
    }

    func accepts(_ policy: ContributionPolicy, _ p: ContributionPredicate) -> PolicyViolation? {
        do { try policy.check(p, anchorLayers: tiny.numLayers, now: Int64(Date().timeIntervalSince1970), epsilonSpent: 0); return nil } catch { return error }
    }

    @Test func theStatementDeclaresOneAccountedEpsilonForEverything() throws {
        let dir = TempDir()
        let (r, v) = try Self.owner(dir)
        let plan = try #require(r.dpSGD)
        let t = try #require(v.predicate.training.privacy)
        // 64 documents, batch 8: q = 1/8; 8 steps with public replay every 4th: 6 private steps.
        #expect(t.samplingRate == 0.125 && t.privateSteps == 6 && t.documents == 64 && t.clipNorm == 1)
        // The composed total meets ε = 4 and is close to it (the calibration spends what it may); the
        // signature took its quarter.
        #expect(t.epsilon <= 4 * (1 + 1e-9) && t.epsilon > 3.99, "ε \(t.epsilon)")
        #expect(abs((v.predicate.routing.privacy.epsilon ?? 0) - 1) < 0.01)
        #expect(abs(try v.predicate.recomputedContributionEpsilon() - t.epsilon) <= 1e-9 * t.epsilon)
        #expect(t.noiseMultiplier == plan.noiseMultiplier && t.delta == v.predicate.routing.privacy.delta)
        #expect(v.predicate.spentEpsilon == t.epsilon)
        var strict = ContributionPolicy()
        strict.requireDPTraining = true
        #expect(accepts(strict, v.predicate) == nil)

        // Less noise than declared would give more ε than the statement claims: refused.
        var understated = v.predicate
        understated.training.privacy!.noiseMultiplier *= 0.8
        #expect(accepts(ContributionPolicy(), understated).map { "\($0)" }?.contains("contribution epsilon") == true)
        // One contribution has one δ.
        var twoDeltas = v.predicate
        twoDeltas.training.privacy!.delta = 1e-7
        #expect(accepts(ContributionPolicy(), twoDeltas).map { "\($0)" }?.contains("differ") == true)
        // A total above the server's maximum.
        var lax = ContributionPolicy()
        lax.maxEpsilon = 2
        #expect(accepts(lax, v.predicate) != nil)
        // The declaration survives the statement's JSON.
        #expect(try TrainingSummary(json: v.predicate.training.json, path: "t") == v.predicate.training)
    }

    @Test func aServerThatRequiresDPTrainingRefusesAPlainExpert() throws {
        let dir = TempDir()
        let (_, v) = try Self.owner(dir, epsilon: 1, dp: nil)
        #expect(v.predicate.training.privacy == nil)
        var strict = ContributionPolicy()
        strict.requireDPTraining = true
        #expect(accepts(strict, v.predicate).map { "\($0)" }?.contains("without DP-SGD") == true)
        #expect(accepts(ContributionPolicy(), v.predicate) == nil)
        #expect(v.predicate.spentEpsilon == v.predicate.routing.privacy.epsilon)
    }

    @Test func badDeclarationsAndOptionsAreRefused() throws {
        let good = TrainingPrivacy(samplingRate: 0.1, noiseMultiplier: 1, clipNorm: 1, privateSteps: 10, documents: 100, epsilon: 3, delta: 1e-6)
        #expect(try TrainingPrivacy(json: good.json, path: "p") == good)
        for (key, value) in [("samplingRate", JSONValue.double(0)), ("samplingRate", .double(1.5)), ("noiseMultiplier", .double(-1)),
                             ("clipNorm", .double(0)), ("epsilon", .double(0)), ("delta", .double(1)), ("mechanism", .string("dp-sgd-shuffled")),
                             ("unit", .string("window")), ("privateSteps", .int(0))] {
            guard case var .object(members) = good.json else { Issue.record("not an object"); return }
            members = members.map { $0.0 == key ? ($0.0, value) : $0 }
            #expect(throws: JSONSchemaError.self, "\(key) = \(value)") { _ = try TrainingPrivacy(json: .object(members), path: "p") }
        }
        var r = DPSGDRequest()
        r.signatureShare = 1
        #expect(throws: TributaryError.self) { try r.validate() }
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<10).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "anchor \($0) ", count: 40).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 2)
        var sig = SignatureOptions()
        sig.disabled = true
        var noise = SeededNoise(seed: 1)
        #expect(throws: TributaryError.self) {
            _ = try ContributionPipeline.train(anchor: a, data: publicText, training: options(steps: 2), signature: sig, dpSGD: DPSGDRequest(),
                                               out: dir.path + "/owner", restart: false, progress: nil, noise: &noise)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/owner/bundle/expert.safetensors"))
    }
}
