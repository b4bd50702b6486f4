import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
@testable import TributaryServer
import TributaryTestSupport

/// LoRA experts through the whole flow: a full expert (acme) and a LoRA expert (initech, rank 4) are
/// accepted, released together and audited; the release holds the LoRA expert materialised exactly;
/// the auditor catches one that is not; the policy's rank limit refuses one and logs nothing.
@Suite(.serialized) struct LoRAExpertTests {
    @Test func aMixedReleaseAuditsAndHoldsTheExactMaterialisation() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("lora-release")
        let state = scratchDirectory("lora-release-state")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: state) }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        for org in ["acme", "initech"] { try await f.enrol(org, on: s.server) }
        let loraBundle = try f.signedBundle("initech"), fullBundle = try f.signedBundle("acme")
        // The upload is the factors: far smaller than a full expert of the same layers.
        let loraBytes = try FileManager.default.attributesOfItem(atPath: loraBundle + "/" + BundleLayout.expertFile)[.size] as! Int
        let fullBytes = try FileManager.default.attributesOfItem(atPath: fullBundle + "/" + BundleLayout.expertFile)[.size] as! Int
        #expect(loraBytes * 3 < fullBytes, "LoRA expert \(loraBytes) bytes, full \(fullBytes)")
        let statement = try StrictJSONParser.parse(try readSmallFile(loraBundle + "/" + BundleLayout.statementFile, limit: 1 << 20))
        #expect(statement["predicate"]?["expert"]?["format"] == .string(ExpertLayout.loraFormat))
        var indices = [UInt64]()
        for bundle in [fullBundle, loraBundle] { indices.append(try await s.client.submit(bundle: bundle).logIndex) }
        _ = try await s.client.publishRelease(operatorKey: f.operatorKey)
        let release = try await s.waitForRelease(with: indices)
        // Expert 2 of the release is the anchor's FFN plus the update, bit for bit.
        let anchor = try AnchorDirectory.load(f.anchorDir)
        let factors = try LoRAFactors(file: try SafetensorsFile(path: loraBundle + "/" + BundleLayout.expertFile), config: anchor.model.config)
        let want = try factors.materialised(onto: ExpertWeights(denseFFNOf: anchor.model, layers: factors.layers), config: anchor.model.config)
        let model = try ModelDirectory.load(s.server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(release.release))
        let got = ExpertWeights(expert: 2, of: model)
        #expect(got.w1.flatMap { $0 }.map(\.bitPattern) == want.w1.flatMap { $0 }.map(\.bitPattern))
        #expect(got.w2.flatMap { $0 }.map(\.bitPattern) == want.w2.flatMap { $0 }.map(\.bitPattern))
        let options = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        let report = try await Auditor(source: ServerLogSource(client: s.client), options: options).run()
        #expect(report.passed, "\(report.findings.map { "\($0.code): \($0.message)" })")
    }

    /// A compromised server signs a release whose LoRA expert is off by one unit in the last place of
    /// one weight (what another rounding would give): the auditor's recomputation sees it.
    @Test func aLoRAExpertMaterialisedOtherwiseIsCaught() async throws {
        let scene = try await AuditScene.make("lora-audit", organisations: ["acme", "initech"])
        defer { Task { await scene.close() } }
        try await scene.publishAlteredRelease { model in
            let w = model.layout.tensor(named: "model.layers.1.block_sparse_moe.experts.2.w1.weight")!
            model.parameters[w.offset] = model.parameters[w.offset].nextUp
        }
        expectFinding(try await scene.audit(state: scratchDirectory("lora-audit-state-2")), "audit.release_tensor_mismatch", "LoRA expert off by one ulp")
    }

    @Test func aRankAboveThePolicysLimitIsRefusedAndNothingIsLogged() async throws {
        let scene = try await ServerScene.start("lora-rank", enrolling: ["initech"]) { $0.policy.maxLoRARank = 2 }
        defer { Task { await scene.close() } }
        let before = await scene.s.server.store.logSize
        do {
            _ = try await scene.s.client.submit(bundle: try scene.f.signedBundle("initech"))
            Issue.record("a rank-4 expert was accepted under a limit of 2")
        } catch let e as RemoteError { #expect(e.code == "contribution.lora_refused", "\(e.code)") }
        #expect(await scene.s.server.store.logSize == before)
    }
}
