import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
import TributaryRouting

@testable import TributaryServer
@testable import TributaryModel
import TributaryTestSupport

/// Issue 25's review, the cases about what the log holds: what the server accepts, the auditor must
/// accept, and what the server's policy refuses, the auditor must refuse too.
@Suite(.serialized) struct HardeningRoundTwoTests {
    /// A compromised server logs an expert for layers its policy does not accept; the replay checks
    /// expert layers with the same call the server makes (it skipped them before).
    @Test func anExpertOutsideThePolicysLayersIsCaughtByTheAudit() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("audit-layers"), state = scratchDirectory("audit-layers-state")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: state) }
        var config = f.serverConfig(dir)
        config.policy.expertLayerSets = [[1]]
        config.autoRelease = false
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        try await f.enrol("acme", on: s.server)
        // The server itself refuses it...
        do {
            _ = try await s.client.submit(bundle: try f.signedBundle("acme"))
            Issue.record("an expert over layers 0-1 was accepted by a policy of layer 1 only")
        } catch let e as RemoteError { #expect(e.code == "contribution.layers_refused", "\(e.code)") }
        // ...a compromised one logs it anyway.
        let bundle = try f.signedBundle("acme")
        let v = try ContributionBundle.verify(directory: bundle, keys: [f.orgs["acme"]!.key.verifierKey])
        _ = try await s.server.store.append(.contribution(organisation: "acme", keyID: f.orgs["acme"]!.key.verifierKey.keyIDHex,
                                                          time: Timestamp.nowRFC3339(), envelope: v.envelope.serialized(), files: v.digests)) { _ in }
        let o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        let report = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        expectFinding(report, "audit.policy_violation", "expert outside the policy's layers")
    }

    /// `revoke-key` without a `takedown` parameter: the server read it as false and logged it, the
    /// auditor compared the missing parameter with `false` and failed every later audit.
    @Test func aKeyRevocationWithoutTheTakedownFlagAuditsAsTheServerReadIt() async throws {
        let scene = try await AuditScene.make("audit-revoke-key")
        defer { Task { await scene.close() } }
        let acme = scene.f.orgs["acme"]!.key
        let id = acme.verifierKey.keyIDHex
        let request = scene.f.request("revoke-key", [("keyID", .string(id)), ("organisation", .string("acme"))], key: acme)
        _ = try await scene.s.client.postBytes("/v1/keys/\(id)/revocation", request)
        let record = try #require(try await scene.s.server.store.contribution(scene.acme))
        #expect(record.isLive, "a revocation without takedown took the contribution down")
        let report = try await scene.audit()
        #expect(report.passed, "\(report.text)")
        #expect(report.keyRevocations == 1)
    }

    /// Sixteen opt-outs of one contribution at once: one is logged, the others refused with 409, and
    /// the log still audits (two revocations of one contribution made every later audit fail).
    @Test func concurrentOptOutsLogOneRevocation() async throws {
        let scene = try await AuditScene.make("audit-concurrent-optout")
        defer { Task { await scene.close() } }
        let acme = scene.f.orgs["acme"]!.key
        let sizeBefore = await scene.s.server.store.logSize
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    do {
                        _ = try await scene.s.client.revokeContribution(scene.acme, key: acme)
                        return "ok"
                    } catch let e as RemoteError { return e.code } catch { return "\(error)" }
                }
            }
            var all = [String]()
            for await o in group { all.append(o) }
            return all
        }
        #expect(outcomes.filter { $0 == "ok" }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "api.conflict" }.count == 15, "\(outcomes)")
        let revocations = try await scene.s.server.store.entries(start: sizeBefore, end: await scene.s.server.store.logSize)
            .filter { (try? LogEntry.parse($0))?.type == "contribution-revocation" }
        #expect(revocations.count == 1)
        let report = try await scene.audit()
        #expect(report.passed, "\(report.text)")
    }

    /// An acknowledged opt-out is enforced on scoring and generation at once, before the release that
    /// drops the expert (they ran the whole release until then).
    @Test func anOptOutIsEnforcedOnScoreAndGenerateAtOnce() async throws {
        let scene = try await ServerScene.start("optout-serving")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s
        let acme = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        _ = try await s.client.submit(bundle: try f.signedBundle("globex"))
        let release = try #require(try await s.server.releases.publish(force: true))
        let text = "#include <linux/types.h>\nstruct fuse_attr {\n\t__u64 ino;\n\t__u64 size;\n};\n"
        let before = try await s.server.score(text: text).evaluation.bitsPerByte
        _ = try await s.client.revokeContribution(acme, key: f.orgs["acme"]!.key)
        // No new release yet (automatic releases are off): the same release is loaded.
        #expect(await s.server.releases.current?.manifest.release == release.manifest.release)
        let after = try await s.server.score(text: text).evaluation.bitsPerByte
        // What the release without acme computes: the anchor and globex's expert only.
        let restricted = try ExpertAssembly.restricted(release.model, to: [0, 2])
        let expected = Evaluator.evaluate(model: restricted, corpus: Corpus(documents: [.init(source: "t", bytes: Array(text.utf8))]), batch: 4, workers: 1).bitsPerByte
        #expect(abs(after - before) > 1e-6, "the withdrawn expert still scores: \(before) → \(after)")
        // The same two experts, weighed the same way; only the order of floating-point sums may differ.
        #expect(abs(after - expected) <= 1e-5 * expected, "\(after) against the restricted release's \(expected)")
        let generated = try await s.server.generate(prompt: "struct ", maxTokens: 24, temperature: 0, topK: 1, seed: 1).text
        let alone = String(decoding: Generator.continuation(model: restricted, text: Array("struct ".utf8), maxTokens: 24, temperature: 0), as: UTF8.self)
        #expect(generated == alone)
    }

    /// A routing request is bounded in tokens, whatever its bytes.
    @Test func aRoutingRequestBeyondItsTokenBoundIsRefused() async throws {
        let scene = try await ServerScene.start("route-tokens", enrolling: ["acme"]) { config in
            config.autoRelease = true
            config.maxRouteTokens = 3000
        }
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s, dir = scene.dir
        let index = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        _ = try await s.waitForRelease(with: [index])
        let long = String(repeating: "int x; ", count: 9000)
        _ = try await s.client.route(RouteRequest(.text(long)))   // one text: 2,048 tokens (the byte anchor's)
        do {
            _ = try await s.client.route(RouteRequest(.texts([long, long])))
            Issue.record("4,096 tokens were embedded against a bound of 3,000")
        } catch let e as RemoteError {
            #expect(e.code == "api.bad_request" && e.message.contains("3000"), "\(e.code) \(e.message)")
        }
    }

    /// Rewrites routing.safetensors's rows and centroids (the bundle is signed after).
    static func scaleRouting(rows: Float = 1, centroids: Float = 1) -> @Sendable (String) throws -> Void {
        { dir in
            let path = dir + "/" + BundleLayout.routingFile
            let file = try SafetensorsFile(path: path)
            var w = SafetensorsWriter(metadata: file.metadata)
            for t in file.tensors {
                let scale = t.name == TensorNames.routerRows ? rows : t.name == TensorNames.centroids ? centroids : 1
                w.add(t.name, shape: t.shape, values: try file.floats(t).map { $0 * scale })
            }
            try w.write(to: path)
        }
    }

    /// Router rows and centroids ×1000 won every token of every release and every `/v1/route`; only the
    /// expert weights were bounded. Now each is refused, and an expert whose rows take more of the
    /// public probe than the policy allows is refused by the probe.
    @Test func oversizedRoutingIsRefused() async throws {
        let scene = try await ServerScene.start("routing-bounds", enrolling: ["acme"])
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s
        let before = await s.server.store.logSize
        for (label, mutate) in [("rows ×1000", Self.scaleRouting(rows: 1000)), ("centroids ×1000", Self.scaleRouting(centroids: 1000)),
                                ("rows ×5", Self.scaleRouting(rows: 5))] {
            do {
                _ = try await s.client.submit(bundle: try f.signedBundle("acme", mutate: mutate))
                Issue.record("\(label): accepted")
            } catch let e as RemoteError {
                #expect(e.code == "contribution.routing_bound" && e.status == 422, "\(label): \(e.code) \(e.message)")
            }
        }
        #expect(await s.server.store.logSize == before)
        // The probe sees the share of public tokens an expert's rows take: the honest acme expert takes
        // about half (measured 0.47), which a policy allowing 0.3 refuses.
        let dir2 = scratchDirectory("routing-greedy")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        var strict = f.serverConfig(dir2)
        strict.policy.maxProbeGateShare = 0.3
        let s2 = try await RunningServer.start(strict)
        defer { Task { await s2.stop() } }
        try await f.enrol("acme", on: s2.server)
        do {
            _ = try await s2.client.submit(bundle: try f.signedBundle("acme"))
            Issue.record("an expert taking half the probe's gate weight passed a bound of 0.3")
        } catch let e as RemoteError {
            #expect(e.code == "contribution.greedy_routing", "\(e.code) \(e.message)")
        }
    }

    /// Rows the operator tunes stay within the bound the policy puts on contributed rows.
    @Test func tunedRowsStayWithinTheRowBound() throws {
        let config = ModelConfig(hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, contextLength: 8, numExperts: 3, expertsPerToken: 2)
        let model = Model.initialised(config: config, seed: 3)
        let router = model.pointer(model.layout.layers[0].router), C = 8
        for i in 0..<C { router[i] = 1; router[C + i] = 100; router[2 * C + i] = 0.5 }
        RouterTuning.boundRows(model, ratio: 4)
        func norm(_ p: UnsafePointer<Float>) -> Float { FastMath.dot(p, p, C).squareRoot() }
        #expect(abs(norm(router + C) - 4 * norm(router)) <= 1e-4 * norm(router), "the oversized row is scaled to the bound")
        #expect(abs(norm(router + 2 * C) - 0.5 * Float(C).squareRoot()) <= 1e-5, "a row within the bound is untouched")
    }

    /// A compromised server that skips the routing bounds: the audit of the release holding the
    /// expert finds it, against the policy it was accepted under.
    @Test func routingBeyondThePolicyIsCaughtByTheAudit() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("audit-routing"), state = scratchDirectory("audit-routing-state")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: state) }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        try await f.enrol("acme", on: s.server)
        let bundle = try f.signedBundle("acme", mutate: Self.scaleRouting(rows: 1000))
        let admitted = try await s.server.verifier.admit(envelope: try readSmallFile(bundle + "/" + BundleLayout.envelopeFile, limit: 1 << 20),
                                                         store: s.server.store, now: Int64(Date().timeIntervalSince1970))
        let verified = try ContributionBundle.verify(directory: bundle, keys: [f.orgs["acme"]!.key.verifierKey])
        let signature = try RoutingSignature.read(bundle + "/" + BundleLayout.routingFile)
        // The server's commit without its checks: what a compromised server could do.
        _ = try await s.server.commit(VerifiedUpload(bundle: verified, admitted: admitted, signature: signature, probeBitsPerByte: 0), stage: bundle)
        _ = try await s.server.releases.publish(force: true)
        let o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        let report = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        expectFinding(report, "audit.policy_violation", "router rows ×1000 in a release")
    }
}
