import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryModel
@testable import TributaryServer
import TributaryTestSupport

/// A server with two accepted contributions (acme's and globex's, or `organisations`') and a release,
/// and an auditor's state directory.
struct AuditScene {
    let f: Fixture
    let dir: String
    let s: RunningServer
    let state: String
    /// The contributions' log indices, in the order of `organisations`.
    let indices: [UInt64]
    var acme: UInt64 { indices[0] }
    var globex: UInt64 { indices[1] }

    static func make(_ label: String, organisations: [String] = ["acme", "globex"]) async throws -> AuditScene {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory(label)
        let s = try await RunningServer.start(f.serverConfig(dir))
        for org in organisations { try await f.enrol(org, on: s.server) }
        var indices = [UInt64]()
        for org in organisations {
            indices.append(try await s.client.submit(bundle: try f.signedBundle(org)).logIndex)
        }
        _ = try await s.waitForRelease(with: indices)
        // Let a second automatic release (after the first accept) land before auditing.
        try await Task.sleep(nanoseconds: 300_000_000)
        return AuditScene(f: f, dir: dir, s: s, state: scratchDirectory(label + "-state"), indices: indices)
    }

    /// What a compromised server could do: publish, as the next release, the latest one's model with
    /// `alter` applied, under a manifest it signs over the altered files.
    func publishAlteredRelease(_ alter: (Model) -> Void) async throws {
        let server = s.server
        let latest = try #require(try await server.store.latestRelease())
        let dir = server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(latest.number)
        let model = try ModelDirectory.load(dir)
        alter(model)
        let next = latest.number + 1, nextDir = server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(next)
        try FileManager.default.copyItem(atPath: dir, toPath: nextDir)
        try ModelDirectory.save(model, to: nextDir, metadata: ["tributary.release": String(next)])
        let old = try ReleaseManifest.verify(try readSmallFile(dir + "/manifest.json", limit: 1 << 20), key: server.logVerifierKey)
        var files = old.files
        for name in ["config.json", "model.safetensors"] { files[name] = Hex.encode(try SHA256.digest(fileAt: nextDir + "/" + name).digest) }
        let size = await server.store.logSize
        let manifest = ReleaseManifest(release: next, createdAt: Timestamp.nowRFC3339(), logSize: size, anchorSHA256: old.anchorSHA256,
                                       expertsPerToken: old.expertsPerToken, experts: old.experts, files: files).signed(by: server.logKey)
        try AtomicFileWriter.write(manifest, to: nextDir + "/manifest.json")
        _ = try await server.store.commitRelease(number: next, manifest: manifest, logSize: size)
    }

    func audit(state: String? = nil, allReleases: Bool = false) async throws -> AuditReport {
        var o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state ?? self.state)
        o.allReleases = allReleases
        return try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
    }

    func close() async {
        await s.stop()
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: state)
    }

    /// A second connection to the server's database: what someone with disk access could do.
    var database: any SQLDatabase { get throws { try SQLDatabases.open(s.server.config.databaseLocation) } }
}

func expectFinding(_ report: AuditReport, _ code: String, _ label: String) {
    #expect(!report.passed, "\(label): the audit passed")
    #expect(report.findings.contains { $0.code == code }, "\(label): expected \(code), got \(report.findings.map { "\($0.code): \($0.message)" })")
}

@Suite(.serialized) struct AuditTests {
    @Test func honestLogAuditsOnlineOfflineAndIncrementally() async throws {
        let scene = try await AuditScene.make("audit-ok")
        defer { Task { await scene.close() } }
        let first = try await scene.audit(allReleases: true)
        #expect(first.passed, "\(first.text)")
        #expect(first.contributions == 2 && first.enrolments == 2 && first.releases >= 1)
        #expect(first.tensorsCompared > 20)
        // Incremental: an opt-out, a new release, and the next audit fetches only what is new.
        _ = try await scene.s.client.revokeContribution(scene.acme, key: scene.f.orgs["acme"]!.key)
        _ = try await scene.s.waitForRelease(with: [scene.globex])
        try await Task.sleep(nanoseconds: 200_000_000)
        let second = try await scene.audit()
        #expect(second.passed, "\(second.text)")
        #expect(second.previousSize == first.checkpointSize && second.newEntries == second.checkpointSize - first.checkpointSize)
        // Offline, from an export, with a fresh state.
        let export = scratchDirectory("export")
        defer { try? FileManager.default.removeItem(atPath: export) }
        _ = try await LogExporter.export(client: scene.s.client, to: export)
        let offline = try await Auditor(source: ExportedLogSource(directory: export),
                                        options: AuditOptions(logKey: scene.s.server.logVerifierKey, stateDirectory: scratchDirectory("offline-state"))).run()
        #expect(offline.passed, "\(offline.text)")
    }

    @Test func rowEditedInSQLiteIsCaught() async throws {
        let scene = try await AuditScene.make("audit-row")
        defer { Task { await scene.close() } }
        let entry = LogEntry.enrolment(organisation: "acme", verifierKey: scene.f.orgs["globex"]!.key.verifierKey.encoded, time: "2026-01-01T00:00:00Z", request: nil)
        try scene.database.run("UPDATE log_entries SET entry = ? WHERE idx = 0", [.blob(entry.bytes)])
        expectFinding(try await scene.audit(), "audit.entries_mismatch", "edited row")
    }

    @Test func blobSwappedOnDiskIsCaught() async throws {
        let scene = try await AuditScene.make("audit-blob")
        defer { Task { await scene.close() } }
        let c = try await scene.s.server.store.contribution(scene.acme)!
        try AtomicFileWriter.write([UInt8](repeating: 7, count: 64), to: scene.s.server.blobs.path(c.expertSHA256))
        expectFinding(try await scene.audit(), "audit.blob_mismatch", "swapped blob")
    }

    @Test func contributionDroppedFromAReleaseIsCaught() async throws {
        let scene = try await AuditScene.make("audit-drop")
        defer { Task { await scene.close() } }
        // The index says "revoked" with no revocation in the log; the next release leaves acme out.
        try scene.database.run("UPDATE contributions SET revoked_at = 999 WHERE log_index = ?", [.int(Int64(scene.acme))])
        try await scene.s.server.releases.publish(force: true)
        expectFinding(try await scene.audit(), "audit.release_omits", "dropped contribution")
    }

    @Test func revokedExpertKeptInAReleaseIsCaught() async throws {
        let scene = try await AuditScene.make("audit-keep")
        defer { Task { await scene.close() } }
        _ = try await scene.s.client.revokeContribution(scene.acme, key: scene.f.orgs["acme"]!.key)
        _ = try await scene.s.waitForRelease(with: [scene.globex])
        try scene.database.run("UPDATE contributions SET revoked_at = NULL WHERE log_index = ?", [.int(Int64(scene.acme))])
        try await scene.s.server.releases.publish(force: true)
        expectFinding(try await scene.audit(), "audit.release_includes_revoked", "revoked expert kept")
    }

    @Test func releaseTensorAlteredIsCaught() async throws {
        let scene = try await AuditScene.make("audit-tensor")
        defer { Task { await scene.close() } }
        let server = scene.s.server
        guard let latest = try await server.store.latestRelease() else { Issue.record("no release"); return }
        let dir = server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(latest.number)
        // A changed file after signing: its digest no longer matches the manifest.
        let original = try readSmallFile(dir + "/model.safetensors", limit: 1 << 30)
        var bent = original
        bent[bent.count - 1] ^= 0x01
        try AtomicFileWriter.write(bent, to: dir + "/model.safetensors")
        expectFinding(try await scene.audit(), "audit.release_file_mismatch", "release file altered")
        // A compromised server signs a manifest over an altered model: only the tensor comparison sees it.
        try AtomicFileWriter.write(original, to: dir + "/model.safetensors")
        try await scene.publishAlteredRelease { model in
            let w = model.layout.tensor(named: "model.layers.0.block_sparse_moe.experts.1.w2.weight")!
            model.parameters[w.offset] += 0.25
        }
        expectFinding(try await scene.audit(state: scratchDirectory("tensor-state-2")), "audit.release_tensor_mismatch", "re-signed altered tensor")
    }

    @Test func entrySignedByAnUnenrolledKeyIsCaught() async throws {
        let scene = try await AuditScene.make("audit-inject")
        defer { Task { await scene.close() } }
        let mallory = try SigningKey.generate(name: "mallory")
        let bundle = try scene.f.signedBundle("acme", signer: mallory)
        let envelope = try readSmallFile(bundle + "/envelope.json", limit: 1 << 20)
        let v = try ContributionBundle.verify(directory: bundle, keys: [mallory.verifierKey])
        _ = try await scene.s.server.store.append(.contribution(organisation: "mallory", keyID: mallory.verifierKey.keyIDHex,
                                                                time: Timestamp.nowRFC3339(), envelope: envelope, files: v.digests)) { _ in }
        expectFinding(try await scene.audit(), "audit.unenrolled_signer", "injected entry")
    }

    @Test func forkedAndRolledBackLogsAreCaught() async throws {
        let scene = try await AuditScene.make("audit-fork")
        defer { Task { await scene.close() } }
        let honest = try await scene.audit()
        #expect(honest.passed, "\(honest.text)")
        // A second log with the same key: the same size but other entries (a fork)...
        let forkDir = scratchDirectory("fork")
        defer { try? FileManager.default.removeItem(atPath: forkDir) }
        try FileManager.default.copyItem(atPath: scene.dir + "/log.key", toPath: forkDir + "/log.key")
        let fork = try await RunningServer.start(scene.f.serverConfig(forkDir))
        defer { Task { await fork.stop() } }
        // (The fork's first entry is its policy, like the honest log's.)
        let filler = try (0..<Int(honest.checkpointSize) - 1).map { try SigningKey.generate(name: "filler\($0)") }
        for k in filler { _ = try await fork.server.enrol(k.verifierKey, request: scene.f.request("enrol", [("verifierKey", .string(k.verifierKey.encoded))])) }
        let forkOptions = AuditOptions(logKey: scene.s.server.logVerifierKey, stateDirectory: scene.state)
        let forked = try await Auditor(source: ServerLogSource(client: fork.client), options: forkOptions).run()
        expectFinding(forked, "audit.fork", "forked log")
        // ...and after the honest log grows, showing the auditor the smaller one is a rollback.
        _ = try await scene.s.client.revokeContribution(scene.acme, key: scene.f.orgs["acme"]!.key)
        try await Task.sleep(nanoseconds: 300_000_000)
        let grown = try await scene.audit()
        #expect(grown.checkpointSize > honest.checkpointSize)
        let rolledBack = try await Auditor(source: ServerLogSource(client: fork.client), options: forkOptions).run()
        expectFinding(rolledBack, "audit.rollback", "rolled-back log")
    }
}
