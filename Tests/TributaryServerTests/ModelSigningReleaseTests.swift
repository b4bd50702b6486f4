import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// Issue 31: an operator with a release key publishes releases that `model_signing verify key` (PyPI
/// `model-signing`) accepts and that fail it when a file is changed, added or removed; fetch-release
/// and the auditor check the same signature under a pinned key.
@Suite(.serialized) struct ModelSigningReleaseTests {
    func modelSigningVerify(_ dir: String, publicKey: String) throws {
        _ = try runText(try interopPython(), ["-m", "model_signing", "verify", "key", dir,
                                              "--signature", dir + "/" + ReleaseLayout.modelSignatureFile, "--public_key", publicKey])
    }

    @Test func aSignedReleaseVerifiesInModelSigningAndFailsOnEachTamper() async throws {
        let key = try P256PrivateKey.generate()
        let scene = try await ServerScene.start("model-signing", enrolling: ["acme"]) { $0.releaseSigningKey = key }
        defer { Task { await scene.close() } }
        let (f, s, dir) = (scene.f, scene.s, scene.dir)
        _ = try await s.client.submit(bundle: try f.signedBundle("acme"))
        let release = try #require(try await s.server.releases.publish(force: true))
        let publicKey = dir + "/release.pub.pem"
        try AtomicFileWriter.write(try key.publicKey().pem, to: publicKey)
        try modelSigningVerify(release.directory, publicKey: publicKey)
        let signed = try ModelSigningSignature.verify(directory: release.directory, key: try key.publicKey())
        #expect(Set(signed.files.keys) == Set(release.manifest.files.keys).union([ReleaseLayout.manifestFile]))
        let tampers: [(String, (String) throws -> Void)] = [
            ("a changed config.json", { try AtomicFileWriter.write(Array("{}\n".utf8), to: $0 + "/" + ModelFiles.config) }),
            ("an extra file", { try AtomicFileWriter.write(Array("extra".utf8), to: $0 + "/extra.safetensors") }),
            ("a missing routing index", { try FileManager.default.removeItem(atPath: $0 + "/" + ReleaseLayout.routingIndexFile) }),
        ]
        for (i, (what, tamper)) in tampers.enumerated() {
            let copy = dir + "/tampered-\(i)"
            try FileManager.default.copyItem(atPath: release.directory, toPath: copy)
            try tamper(copy)
            #expect(throws: TributaryError.self, "model-signing accepted \(what)") { try modelSigningVerify(copy, publicKey: publicKey) }
            #expect(throws: TributaryError.self, "accepted \(what) here") { try ModelSigningSignature.verify(directory: copy, key: try key.publicKey()) }
        }
        // fetch-release checks it under the pinned key, and refuses another key without leaving a directory.
        let fetched = try await ReleaseDownload.fetch(client: s.client, logKey: s.server.logVerifierKey, number: nil, to: dir + "/fetched",
                                                      modelSigningKey: try key.publicKey())
        #expect(fetched.modelSignatureVerified)
        try modelSigningVerify(dir + "/fetched", publicKey: publicKey)
        let other = try P256PrivateKey.generate().publicKey()
        await #expect(throws: TributaryError.self) {
            _ = try await ReleaseDownload.fetch(client: s.client, logKey: s.server.logVerifierKey, number: nil, to: dir + "/other", modelSigningKey: other)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/other"))
        // The audit: passes under the release key, a finding under another.
        var o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: dir + "/audit-state")
        o.modelSigningKey = try key.publicKey()
        let report = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        #expect(report.passed, "\(report.text)")
        #expect(report.text.contains("OpenSSF model signature"))
        o.modelSigningKey = other
        o.stateDirectory = dir + "/audit-state-2"
        expectFinding(try await Auditor(source: ServerLogSource(client: s.client), options: o).run(), "audit.model_signature_invalid", "another release key")
    }

    @Test func anAuditorPinningAReleaseKeyFindsAnUnsignedRelease() async throws {
        let scene = try await ServerScene.start("model-signing-absent", enrolling: ["acme"])
        defer { Task { await scene.close() } }
        let (f, s, dir) = (scene.f, scene.s, scene.dir)
        _ = try await s.client.submit(bundle: try f.signedBundle("acme"))
        let release = try #require(try await s.server.releases.publish(force: true))
        #expect(!FileManager.default.fileExists(atPath: release.directory + "/" + ReleaseLayout.modelSignatureFile))
        var o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: dir + "/audit-state")
        let plain = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        #expect(plain.passed, "\(plain.text)")
        o.modelSigningKey = try P256PrivateKey.generate().publicKey()
        o.stateDirectory = dir + "/audit-state-2"
        expectFinding(try await Auditor(source: ServerLogSource(client: s.client), options: o).run(), "audit.model_signature_missing", "no model.sig")
    }
}
