import Foundation
import Testing
import TributaryCommandLine
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// Issue 25: releases were never pruned (10 submit/revoke cycles, 12 → 32 release directories; at
/// SmolLM2 size 1.7 GB each). A pruned release keeps its signed manifest and is rebuilt bit for bit
/// from the logged bundles and the anchor; a disk budget refuses a release before a byte is written.
@Suite(.serialized) struct ReleaseRetentionTests {
    /// The command line's rebuild, as `tributary fetch-release` and `audit --rebuild-pruned` run it.
    static let rebuild = releaseRebuild

    @Test func aPrunedReleaseIsRebuiltBitForBitAndAudited() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("rebuild"), state = scratchDirectory("rebuild-state"), out = scratchDirectory("rebuild-out")
        defer { for d in [dir, state, out] { try? FileManager.default.removeItem(atPath: d) } }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        config.keepReleases = 1
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        for org in ["acme", "globex"] { try await f.enrol(org, on: s.server) }
        let acme = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        _ = try await s.client.submit(bundle: try f.signedBundle("globex"))
        let first = try #require(try await s.server.releases.publish(force: true))
        let digests = first.manifest.files
        _ = try await s.client.revokeContribution(acme, key: f.orgs["acme"]!.key)
        _ = try await s.server.releases.publish(force: true)
        #expect(await s.server.releases.isPruned(1))
        // fetch-release rebuilds it: every file hashes to the signed manifest's digest.
        let r = try await ReleaseDownload.fetch(client: s.client, logKey: s.server.logVerifierKey, number: 1, to: out + "/one", rebuild: Self.rebuild)
        #expect(r.rebuilt)
        for (name, sha) in digests { #expect(Hex.encode(try SHA256.digest(fileAt: out + "/one/" + name).digest) == sha, "\(name)") }
        // Without a rebuild, a pruned release is the server's 410.
        await #expect(throws: RemoteError.self) { _ = try await ReleaseDownload.fetch(client: s.client, logKey: s.server.logVerifierKey, number: 1, to: out + "/two") }
        #expect(!FileManager.default.fileExists(atPath: out + "/two"))
        // The audit checks the rebuild like a served release, or says it did not.
        var o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        o.allReleases = true
        let plain = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        #expect(plain.passed, "\(plain.text)")
        #expect(plain.text.contains("release 1 was pruned"))
        o.rebuild = Self.rebuild
        let deep = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        #expect(deep.passed && deep.releasesVerifiedDeeply.contains(1), "\(deep.text)")
        // A rebuild that is not bit-identical is a finding.
        o.rebuild = ReleaseRebuild { manifest, anchor, experts, out in
            try Self.rebuild.write(manifest, anchor, experts, out)
            try AtomicFileWriter.write(Array("{}\n".utf8), to: out + "/" + ModelFiles.config)
        }
        expectFinding(try await Auditor(source: ServerLogSource(client: s.client), options: o).run(), "audit.release_file_mismatch", "a rebuild with another config")
    }

    @Test func aReleaseBeyondTheDiskBudgetIsRefusedBeforeAnythingIsWritten() async throws {
        let scene = try await ServerScene.start("disk-budget", enrolling: ["acme"]) { config in
            config.releaseDiskBudget = 1 << 10
        }
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s, dir = scene.dir
        _ = try await s.client.submit(bundle: try f.signedBundle("acme"))
        let size = await s.server.store.logSize
        do {
            _ = try await s.client.publishRelease(operatorKey: f.operatorKey)
            Issue.record("a release beyond the disk budget was published")
        } catch let e as RemoteError {
            #expect(e.status == 507 && e.code == "server.disk_budget", "\(e.code) \(e.message)")
        }
        #expect(await s.server.store.logSize == size)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/releases").isEmpty)
    }
}
