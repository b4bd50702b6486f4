import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting
@testable import TributaryServer
import TributaryTestSupport

/// Rewrites a safetensors file in place: `transform(name, values)` returns the new values (same count
/// unless `shapes` says otherwise); `metadata` entries replace the file's.
func rewrite(_ path: String, metadata: [String: String] = [:], shapes: [String: [Int]] = [:],
             _ transform: (String, [Float]) -> [Float] = { $1 }) throws {
    let file = try SafetensorsFile(path: path)
    var w = SafetensorsWriter(metadata: file.metadata.merging(metadata) { $1 })
    for t in file.tensors { w.add(t.name, shape: shapes[t.name] ?? t.shape, values: transform(t.name, try file.floats(t))) }
    try w.write(to: path)
}

func setPrivacy(_ dir: String, _ change: (inout PrivacyParameters) -> Void) throws {
    let path = dir + "/routing.safetensors"
    let text = try SafetensorsFile(path: path).metadata[BundleLayout.routingMetadataKey]!
    var params = try RoutingParameters(json: try StrictJSONParser.parse(Array(text.utf8)), path: "r")
    change(&params.privacy)
    try rewrite(path, metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(params.json)])
}

@Suite(.serialized) struct RejectionTests {
    /// Each case: how to make the upload, the code and HTTP status the server must answer with.
    struct Case: Sendable {
        let label: String
        let code: String
        let status: Int
        let make: @Sendable (Fixture, RunningServer) async throws -> HTTPClientRequest.Body
    }

    static func bundle(_ f: Fixture, _ org: String = "acme", signer: SigningKey? = nil, mutate: ((String) throws -> Void)? = nil) async throws -> HTTPClientRequest.Body {
        let dir = try f.signedBundle(org, signer: signer, mutate: mutate)
        return .bytes(ByteBuffer(bytes: try await BundleArchive.bytes(directory: dir)))
    }

    static func afterSigning(_ f: Fixture, _ change: (String) throws -> Void) async throws -> HTTPClientRequest.Body {
        let dir = try f.signedBundle("acme")
        try change(dir)
        return .bytes(ByteBuffer(bytes: try await BundleArchive.bytes(directory: dir)))
    }

    static let cases: [Case] = [
        Case(label: "unknown key", code: "contribution.unknown_key", status: 403) { f, _ in
            try await bundle(f, signer: try SigningKey.generate(name: "acme"))
        },
        Case(label: "tampered file after signing", code: "bundle.digest_mismatch", status: 400) { f, _ in
            try await afterSigning(f) { d in try rewrite(d + "/expert.safetensors") { $0 == "layers.0.w1.weight" ? $1.map { $0 + 1e-3 } : $1 } }
        },
        Case(label: "tampered statement", code: "bundle.statement_mismatch", status: 400) { f, _ in
            try await afterSigning(f) { d in
                let s = try String(contentsOfFile: d + "/statement.json", encoding: .utf8).replacingOccurrences(of: "\"seed\":1", with: "\"seed\":2")
                try AtomicFileWriter.write(Array(s.utf8), to: d + "/statement.json")
            }
        },
        Case(label: "wrong anchor", code: "contribution.wrong_anchor", status: 422) { f, _ in
            try await bundle(f) { d in
                try rewrite(d + "/expert.safetensors", metadata: [BundleLayout.anchorMetadataKey: String(repeating: "ab", count: 32)])
            }
        },
        Case(label: "shapes that do not fit the anchor", code: "contribution.shape_mismatch", status: 422) { f, _ in
            try await bundle(f) { d in
                let F = Fixture.config.intermediateSize - 16, C = Fixture.config.hiddenSize
                var shapes = [String: [Int]]()
                for l in 0..<Fixture.config.numLayers {
                    shapes[TensorNames.bundleW1(l)] = [F, C]; shapes[TensorNames.bundleW3(l)] = [F, C]; shapes[TensorNames.bundleW2(l)] = [C, F]
                }
                try rewrite(d + "/expert.safetensors", shapes: shapes) { _, v in Array(v.prefix(F * C)) }
            }
        },
        Case(label: "NaN in the expert", code: "contribution.non_finite", status: 422) { f, _ in
            try await bundle(f) { d in try rewrite(d + "/expert.safetensors") { n, v in n == "layers.1.w2.weight" ? [Float.nan] + v.dropFirst() : v } }
        },
        Case(label: "weights far larger than the anchor's", code: "contribution.norm_bound", status: 422) { f, _ in
            try await bundle(f) { d in try rewrite(d + "/expert.safetensors") { _, v in v.map { $0 * 5 } } }
        },
        Case(label: "no differential privacy", code: "contribution.privacy_policy", status: 422) { f, _ in
            try await bundle(f) { d in try setPrivacy(d) { $0.enabled = false; $0.epsilon = nil; $0.delta = nil; $0.mechanism = "none" } }
        },
        Case(label: "epsilon above the policy", code: "contribution.privacy_policy", status: 422) { f, _ in
            try await bundle(f) { d in try setPrivacy(d) { $0.epsilon = 50 } }
        },
        Case(label: "minimum cluster size below the policy", code: "contribution.privacy_policy", status: 422) { f, _ in
            try await bundle(f) { d in try setPrivacy(d) { $0.minClusterSize = 1 } }
        },
        Case(label: "not a tar archive", code: "upload.bad_archive", status: 400) { _, _ in
            .bytes(ByteBuffer(bytes: [UInt8](repeating: 0x41, count: 2048)))
        },
        Case(label: "archive with a symlink", code: "upload.bad_entry_type", status: 400) { _, _ in
            .bytes(ByteBuffer(bytes: BundleArchive.header(name: "expert.safetensors", size: 0, typeflag: UInt8(ascii: "2")) + [UInt8](repeating: 0, count: 1024)))
        },
        Case(label: "archive with ../ in a name", code: "upload.bad_name", status: 400) { _, _ in
            .bytes(ByteBuffer(bytes: BundleArchive.header(name: "../expert.safetensors", size: 0) + [UInt8](repeating: 0, count: 1024)))
        },
        Case(label: "archive that does not start with the envelope", code: "upload.envelope_not_first", status: 400) { _, _ in
            .bytes(ByteBuffer(bytes: BundleArchive.header(name: "statement.json", size: 2) + [0x7b, 0x7d] + [UInt8](repeating: 0, count: 510 + 1024)))
        },
        Case(label: "archive missing a file", code: "upload.missing_file", status: 400) { f, _ in
            // A whole bundle's archive without statement.json (the last entry): cut after routing.safetensors.
            let dir = try f.signedBundle("acme")
            var bytes = [UInt8]()
            for try await chunk in try BundleArchive.chunks(directory: dir) { bytes += chunk }
            let statementSize = try FileManager.default.attributesOfItem(atPath: dir + "/statement.json")[.size] as? Int ?? 0
            let cut = bytes.count - 1024 - 512 - (statementSize + 511) / 512 * 512
            return .bytes(ByteBuffer(bytes: Array(bytes[0..<cut]) + [UInt8](repeating: 0, count: 1024)))
        },
        Case(label: "truncated archive", code: "upload.truncated", status: 400) { f, _ in
            let dir = try f.signedBundle("acme")
            return .bytes(ByteBuffer(bytes: Array(try await BundleArchive.bytes(directory: dir).dropLast(2000))))
        },
    ]

    @Test(arguments: cases.indices)
    func refusedAndNothingStored(index: Int) async throws {
        let c = Self.cases[index]
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("reject")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        try await f.enrol("acme", on: s.server)
        let sizeBefore = await s.server.store.logSize, filesBefore = listing(dir + "/blobs")
        let body = try await c.make(f, s)
        do {
            _ = try await s.client.send(.POST, "/v1/contributions", body: body, contentType: "application/x-tar")
            Issue.record("\(c.label): accepted")
        } catch let e as RemoteError {
            #expect(e.code == c.code, "\(c.label): \(e.code) \(e.message)")
            #expect(e.status == c.status, "\(c.label): HTTP \(e.status)")
        }
        #expect(await s.server.store.logSize == sizeBefore, "\(c.label): the log grew")
        #expect(listing(dir + "/blobs") == filesBefore, "\(c.label): blobs were stored")
        #expect(try await s.server.store.allContributions().isEmpty)
        #expect(listing(dir + "/tmp").isEmpty, "\(c.label): staging left behind")
    }

    @Test func revokedKeyDuplicatesAndSizeLimit() async throws {
        let scene = try await ServerScene.start("reject2")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s, dir = scene.dir
        // Accepted once; the same bundle again, and the same expert re-signed with a new nonce, are duplicates.
        let bundle = try f.signedBundle("acme")
        _ = try await s.client.submit(bundle: bundle)
        let size = await s.server.store.logSize
        for (label, dir) in [("same bundle", bundle), ("same expert, new statement", try f.signedBundle("acme"))] {
            await #expect(throws: RemoteError.self, "\(label)") { _ = try await s.client.submit(bundle: dir) }
            do { _ = try await s.client.submit(bundle: dir) } catch let e as RemoteError {
                #expect(e.code == "contribution.duplicate" && e.status == 409, "\(label): \(e.code)")
            }
        }
        #expect(await s.server.store.logSize == size)
        // globex revokes its own key; a contribution signed by it is then refused.
        _ = try await s.client.revokeKey(f.orgs["globex"]!.key.verifierKey.keyIDHex, organisation: "globex", takedown: false, key: f.orgs["globex"]!.key)
        do {
            _ = try await s.client.submit(bundle: try f.signedBundle("globex"))
            Issue.record("revoked key accepted")
        } catch let e as RemoteError {
            #expect(e.code == "contribution.key_revoked" && e.status == 403)
        }
    }

    @Test func uploadLargerThanTheLimitIsRefusedWhileStreaming() async throws {
        let scene = try await ServerScene.start("reject3", enrolling: ["acme"]) { config in
            config.autoRelease = true
            config.maxUploadBytes = 16 * 1024
        }
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s
        // A file whose header already declares more than the limit is refused at its header...
        do {
            _ = try await s.client.submit(bundle: try f.signedBundle("acme"))
            Issue.record("oversized upload accepted")
        } catch let e as RemoteError {
            #expect(e.code == "upload.file_too_large" && e.status == 413, "\(e.code) \(e.message)")
        }
        // ...and a stream that simply keeps going is cut off at the limit.
        let endless = BundleArchive.header(name: "envelope.json", size: 2) + [0x7b, 0x7d] + [UInt8](repeating: 0, count: 510)
            + [UInt8](repeating: 0, count: 8 * 1024)
        do {
            _ = try await s.client.send(.POST, "/v1/contributions", body: .bytes(ByteBuffer(bytes: endless)), contentType: "application/x-tar")
            Issue.record("bad envelope accepted")
        } catch let e as RemoteError {
            // The envelope `{}` is refused as soon as it is in, before the rest streams.
            #expect(e.code == "envelope.malformed" && e.status == 400, "\(e.code) \(e.message)")
        }
        // A stream of nothing but an envelope-sized header and zero blocks: cut off at the limit.
        let zeros = BundleArchive.header(name: "envelope.json", size: 32 * 1024)
            + [UInt8](repeating: 0x20, count: 32 * 1024)
        do {
            _ = try await s.client.send(.POST, "/v1/contributions", body: .bytes(ByteBuffer(bytes: zeros)), contentType: "application/x-tar")
            Issue.record("endless upload accepted")
        } catch let e as RemoteError {
            #expect(e.code == "upload.too_large" && e.status == 413, "\(e.code) \(e.message)")
        }
        // The policy entry and the enrolment, nothing else.
        #expect(await s.server.store.logSize == 2)
    }

    /// An expert trained by gradient ascent on public text — trained to raise public loss — passes
    /// every format check; only the probe stops it.
    @Test func harmfulExpertIsRefusedByTheProbe() async throws {
        let f = try await Fixture.shared.value
        let anchor = try AnchorDirectory.load(f.anchorDir)
        var o = Fixture.options(steps: 60)
        o.maximiseLoss = true
        o.learningRate = 1e-3
        o.gradClip = 0.5
        let publicText = try Corpus.load(paths: [f.publicDir])
        var sig = SignatureOptions()
        sig.epsilon = 4
        sig.clusters = 1
        sig.minSelfRouting = 0      // trained on public text: its signature cannot route, and the probe is what is tested
        var noise = SeededNoise(seed: 3)
        let out = scratchDirectory("harmful")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try ContributionPipeline.train(anchor: anchor, data: publicText, training: o, signature: sig, out: out + "/evil",
                                               restart: false, progress: nil, noise: &noise)
        try ContributionBundle.sign(directory: r.bundle, key: f.orgs["acme"]!.key, origin: Fixture.origin)
        let dir = scratchDirectory("reject4")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        try await f.enrol("acme", on: s.server)
        do {
            _ = try await s.client.submit(bundle: r.bundle)
            Issue.record("harmful expert accepted")
        } catch let e as RemoteError {
            print("harmful expert: \(e.message)")
            #expect(e.code == "contribution.harmful" && e.status == 422, "\(e.code): \(e.message)")
        }
        #expect(await s.server.store.logSize == 2)
    }
}
