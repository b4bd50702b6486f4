import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// What the auditor checks since issue 13: operator signatures on every operator action, the policy
/// in force for every contribution, deployment binding, rotations, takedowns; and what owners and
/// users check of the server's answers (receipts, fetched releases).
@Suite(.serialized) struct AuditHardeningTests {
    @Test func rotationTakedownAndCompromisedKeyAuditClean() async throws {
        let scene = try await AuditScene.make("audit-identity")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s
        // acme's key is rotated: the old key signs nothing more, the new one does.
        let newAcme = try SigningKey.generate(name: "acme")
        _ = try await s.client.rotateKey(organisation: "acme", to: newAcme.verifierKey, operatorKey: f.operatorKey)
        do {
            _ = try await s.client.submit(bundle: try f.signedBundle("acme", mutate: HardeningCatalogueTests.nudgeExpert))
            Issue.record("the retired key still signs")
        } catch let e as RemoteError { #expect(e.code == "contribution.key_revoked", "\(e.code)") }
        let fresh = try await s.client.submit(bundle: try f.signedBundle("acme", signer: newAcme, mutate: HardeningCatalogueTests.nudgeExpert))
        let freshIndex = fresh.logIndex
        // The operator takes globex's contribution down: routing stops naming it at once.
        _ = try await s.client.takeDown(scene.globex, reason: "licence complaint", operatorKey: f.operatorKey)
        let route = try await s.client.route(RouteRequest(.text("def f(x):\n    return x\n"), topK: 3))
        let named = route.results[0].compactMap(\.contribution)
        #expect(!named.contains(scene.globex))
        // acme's new key is compromised: revoked with takedown, its contribution goes too.
        _ = try await s.client.revokeKey(newAcme.verifierKey.keyIDHex, organisation: "acme", takedown: true, key: f.operatorKey)
        let record = try #require(try await s.server.store.contribution(freshIndex))
        #expect(record.takenDownAt != nil && !record.isLive)
        _ = try await s.waitForRelease(with: [scene.acme])
        try await Task.sleep(nanoseconds: 300_000_000)
        let report = try await scene.audit(allReleases: false)
        #expect(report.passed, "\(report.text)")
        #expect(report.rotations == 1 && report.takedowns == 1 && report.keyRevocations == 1 && report.policies == 1)
    }

    /// A compromised server appends what the server itself would refuse; the auditor, pinning the
    /// operator's key, catches each.
    @Test func operatorActionsWithoutTheOperatorsSignatureAreCaught() async throws {
        let scene = try await AuditScene.make("audit-unsigned")
        defer { Task { await scene.close() } }
        let intruder = try SigningKey.generate(name: "intruder")
        _ = try await scene.s.server.store.append(.enrolment(organisation: "intruder", verifierKey: intruder.verifierKey.encoded,
                                                             time: Timestamp.nowRFC3339(), request: nil)) { _ in }
        expectFinding(try await scene.audit(), "audit.unsigned_request", "enrolment without the operator's request")
        // Signed by someone else than the operator.
        let scene2 = try await AuditScene.make("audit-forged")
        defer { Task { await scene2.close() } }
        let forged = scene2.f.request("enrol", [("verifierKey", .string(intruder.verifierKey.encoded))], key: intruder)
        _ = try await scene2.s.server.store.append(.enrolment(organisation: "intruder", verifierKey: intruder.verifierKey.encoded,
                                                              time: Timestamp.nowRFC3339(), request: forged)) { _ in }
        expectFinding(try await scene2.audit(), "audit.bad_request", "enrolment signed by another key")
    }

    @Test func contributionsBeyondThePolicyOrForAnotherLogAreCaught() async throws {
        let scene = try await AuditScene.make("audit-policy")
        defer { Task { await scene.close() } }
        // A statement for another deployment, appended by a compromised server.
        let other = try scene.f.signedBundle("acme", origin: "elsewhere.example/log")
        let v = try ContributionBundle.verify(directory: other, keys: [scene.f.orgs["acme"]!.key.verifierKey])
        _ = try await scene.s.server.store.append(.contribution(organisation: "acme", keyID: scene.f.orgs["acme"]!.key.verifierKey.keyIDHex,
                                                                time: Timestamp.nowRFC3339(), envelope: v.envelope.serialized(), files: v.digests)) { _ in }
        expectFinding(try await scene.audit(), "audit.wrong_origin", "statement for another log")
        // A statement whose ε is above the policy's maximum.
        let scene2 = try await AuditScene.make("audit-policy2")
        defer { Task { await scene2.close() } }
        let greedy = try scene2.f.signedBundle("globex") { dir in
            try HardeningCatalogueTests.editPrivacy(dir) { $0.epsilon = 50 }
        }
        let g = try ContributionBundle.verify(directory: greedy, keys: [scene2.f.orgs["globex"]!.key.verifierKey])
        _ = try await scene2.s.server.store.append(.contribution(organisation: "globex", keyID: scene2.f.orgs["globex"]!.key.verifierKey.keyIDHex,
                                                                 time: Timestamp.nowRFC3339(), envelope: g.envelope.serialized(), files: g.digests)) { _ in }
        expectFinding(try await scene2.audit(), "audit.policy_violation", "ε above the policy")
    }

    /// `submit` believes a receipt only for its own bundle's entry; `fetch-release` a manifest only if
    /// the log's release entry records its digest.
    @Test func receiptsAndFetchedReleasesAreBoundToTheLog() async throws {
        let scene = try await AuditScene.make("audit-receipt")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s
        let bundle = try f.signedBundle("acme", mutate: HardeningCatalogueTests.nudgeExpert)
        let receipt = try await s.client.submit(bundle: bundle)
        let envelope = try readSmallFile(bundle + "/envelope.json", limit: 1 << 20)
        let ok = try await ReceiptCheck.run(receipt: receipt, envelope: envelope, client: s.client, logKey: s.server.logVerifierKey)
        #expect(ok.index == receipt.logIndex)
        // A receipt whose proof was altered is refused.
        var proof = receipt.inclusionProof
        if !proof.isEmpty { proof[0][0] ^= 1 }
        let forged = ContributionReceipt(logIndex: receipt.logIndex, leafHash: receipt.leafHash, statementSHA256: receipt.statementSHA256,
                                         treeSize: receipt.treeSize, checkpoint: receipt.checkpoint, inclusionProof: proof.isEmpty ? [[UInt8](repeating: 0, count: 32)] : proof)
        await #expect(throws: TributaryError.self) {
            _ = try await ReceiptCheck.run(receipt: forged, envelope: envelope, client: s.client, logKey: s.server.logVerifierKey)
        }
        // The same receipt for someone else's envelope is refused.
        let otherEnvelope = try readSmallFile(try f.signedBundle("globex") + "/envelope.json", limit: 1 << 20)
        await #expect(throws: TributaryError.self) {
            _ = try await ReceiptCheck.run(receipt: receipt, envelope: otherEnvelope, client: s.client, logKey: s.server.logVerifierKey)
        }
        // A manifest signed by the log key but not the one the log records is refused by fetch-release.
        let latest = try #require(try await s.server.store.latestRelease())
        let dir = s.server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(latest.number)
        let m = try ReleaseManifest.verify(try readSmallFile(dir + "/manifest.json", limit: 1 << 20), key: s.server.logVerifierKey)
        let resigned = ReleaseManifest(release: m.release, createdAt: "2020-01-01T00:00:00Z", logSize: m.logSize, anchorSHA256: m.anchorSHA256,
                                       expertsPerToken: m.expertsPerToken, experts: m.experts, files: m.files).signed(by: s.server.logKey)
        try AtomicFileWriter.write(resigned, to: dir + "/manifest.json")
        let out = scratchDirectory("fetch") + "/release"
        do {
            _ = try await ReleaseDownload.fetch(client: s.client, logKey: s.server.logVerifierKey, number: latest.number, to: out)
            Issue.record("a manifest the log does not record was accepted")
        } catch let e as TributaryError {
            #expect(e.code == "release.not_logged", "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a refused download left files")
    }
}
