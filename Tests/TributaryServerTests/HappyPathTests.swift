import Foundation
import Testing
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

@Suite(.serialized) struct HappyPathTests {
    @Test func enrolSubmitReleaseRouteScoreGenerate() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("happy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        let logKey = s.server.logVerifierKey
        // Enrol two organisations (one by the local admin path, one by a signed operator request).
        try await f.enrol("acme", on: s.server)
        _ = try await s.client.enrol(f.orgs["globex"]!.key.verifierKey, operatorKey: f.operatorKey)
        var indices = [UInt64]()
        for org in ["acme", "globex"] {
            let r = try await s.client.submit(bundle: try f.signedBundle(org))
            let index = r.logIndex
            // The receipt checks out against the signed checkpoint.
            let cp = try Checkpoint.verify(note: Array(r.checkpoint.utf8), key: logKey)
            #expect(cp.size == r.treeSize)
            #expect(ProofVerification.inclusion(index: index, size: cp.size, leafHash: r.leafHash, proof: r.inclusionProof, root: cp.root))
            indices.append(index)
        }
        // Entry 0 is the server's policy, 1 and 2 the enrolments.
        #expect(indices == [3, 4])
        // The operator publishes a release: both experts, after the anchor's.
        _ = try await s.client.publishRelease(operatorKey: f.operatorKey)
        let release = try await s.waitForRelease(with: indices)
        #expect(release.manifest.experts.map(\.organisation) == ["acme", "globex"])   // expert 0, the anchor, is implied
        #expect(release.json["experts"]?.arrayValue?.first?["source"] == .string("anchor"))
        // The release's files download and match the manifest.
        let n = release.release
        let manifestPath = dir + "/dl-manifest.json"
        try await s.client.download(release.manifestFile, to: manifestPath)
        let manifest = try ReleaseManifest.verify(try readSmallFile(manifestPath, limit: 1 << 20), key: logKey)
        #expect(manifest == release.manifest)
        let weights = try await s.client.download(APIPath.releaseFile(n, "model.safetensors"), to: dir + "/dl-model.safetensors")
        #expect(manifest.files["model.safetensors"] == weights)
        // Serving.
        let route = try await s.client.route(RouteRequest(.text("#include <stdio.h>\nint main(void) { return 0; }\n")))
        #expect(!route.isBatch && route.results.count == 1 && route.results[0].count == 2)
        // On the wire: the experts and their weights, never centroids.
        let raw = try await s.client.postJSON(APIPath.route, RouteRequest(.text("hello")).json)
        #expect(raw["experts"]?.arrayValue?.allSatisfy { $0["centroids"] == nil } == true)
        let batch = try await s.client.route(RouteRequest(.texts(["def f(x):\n    return x\n", "hello"])))
        #expect(batch.isBatch && batch.results.count == 2)
        try await queriesArrivingTogetherShareAPass(s)
        let score = try await s.client.score(ScoreRequest(text: "The quick brown fox jumps over the lazy dog."))
        #expect(score.bitsPerByte > 0 && score.bitsPerByte < 9)
        #expect(score.routing == "rows")   // the release's router rows, as a Mixtral runtime runs them
        let gen = try await s.client.generate(GenerateRequest(prompt: "The ", maxTokens: 20))
        #expect(gen.routing == "rows" && gen.release == n)
        // More requests than the engine's slots at once, of different lengths (up to 41 tokens: the
        // engine gives its thread back every 32 steps and resumes): each is answered from
        // its own slot, greedily, as when it ran alone (only a tie within float rounding between two
        // tokens could part them; the byte model's logits have none here).
        let prompts = ["The ", "int ", "def ", "# ", "Hello", "x = "]
        var alone = [String]()
        for (i, p) in prompts.enumerated() { alone.append(try await s.client.generate(GenerateRequest(prompt: p, maxTokens: 6 + 7 * i, temperature: 0)).text) }
        let together = try await withThrowingTaskGroup(of: (Int, String).self) { g in
            for (i, p) in prompts.enumerated() {
                g.addTask { (i, try await s.client.generate(GenerateRequest(prompt: p, maxTokens: 6 + 7 * i, temperature: 0)).text) }
            }
            return try await g.reduce(into: [String](repeating: "", count: prompts.count)) { $0[$1.0] = $1.1 }
        }
        #expect(together == alone)
        let list = try await s.client.experts()
        #expect(list.experts.count == 3 && list.release == n)
        #expect(list.experts[1].privacy["enabled"] == .bool(true))
        // Metrics and the log's own endpoints.
        let metrics = String(decoding: try await s.client.send(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("tributary_contributions_accepted_total"))
        let entries = try await s.client.entries(start: 0, end: 6)
        let tree = MemoryTree()
        for e in entries { tree.append(entry: e) }
        let cp = try Checkpoint.verify(note: try await s.client.checkpoint(), key: logKey)
        #expect(cp.size == 6)
        #expect(tree.root() == cp.root)
        #expect(try entries.map { try LogEntry.parse($0).type } == ["policy", "enrolment", "enrolment", "contribution", "contribution", "release"])
        // The release entry records the manifest's digest, and the release's answer says where it is.
        guard case let .release(number, _, sha) = try LogEntry.parse(entries[5]) else { Issue.record("entry 5 is not a release"); return }
        let manifestSHA = Hex.encode(SHA256.digest(try readSmallFile(manifestPath, limit: 1 << 20)))
        #expect(number == n && sha == manifestSHA)
        #expect(release.logIndex == 5)
    }

    /// `/v1/route` queries arriving together share one anchor pass (`RouteBatcher`), and each gets the
    /// points it gets alone (float rounding apart: other rows in the same products); past the
    /// batcher's queue the next query is refused with api.busy at once.
    func queriesArrivingTogetherShareAPass(_ s: RunningServer) async throws {
        let texts = ["#include <stdio.h>\n", "def f(x):\n    return x\n", "hello", "SELECT * FROM t;", "fn main() {}", "The quick brown fox"]
        guard let r = await s.server.releases.current else { Issue.record("no release"); return }
        var single = [[Float]]()
        let one = RouteBatcher(pool: s.server.pool, windowMilliseconds: 0, maxTokens: 1 << 20, maxWaiting: 16, workers: 2)
        for t in texts { single.append(try await one.embed([t], tokens: 1, release: r, abandoned: nil)) }
        #expect(one.passes == texts.count)
        // A window far longer than it takes to start six tasks: all six wait for the same pass.
        let shared = RouteBatcher(pool: s.server.pool, windowMilliseconds: 300, maxTokens: 1 << 20, maxWaiting: 16, workers: 2)
        let together = try await withThrowingTaskGroup(of: (Int, [Float]).self) { g in
            for (i, t) in texts.enumerated() { g.addTask { (i, try await shared.embed([t], tokens: 1, release: r, abandoned: nil)) } }
            var out = [[Float]](repeating: [], count: texts.count)
            for try await (i, p) in g { out[i] = p }
            return out
        }
        #expect(shared.passes == 1)
        var worst: Float = 0
        for (a, b) in zip(single, together) {
            #expect(a.count == b.count && !a.isEmpty)
            for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
        }
        // Unit-length points; other rows in the same sgemm change float rounding only.
        #expect(worst < 1e-4, "max |difference| = \(worst)")
        // Two may wait; the third is refused at once and nothing else changes.
        let small = RouteBatcher(pool: s.server.pool, windowMilliseconds: 300, maxTokens: 1 << 20, maxWaiting: 2, workers: 2)
        let outcomes = await withTaskGroup(of: String.self) { g in
            for t in texts.prefix(3) {
                g.addTask {
                    do { _ = try await small.embed([t], tokens: 1, release: r, abandoned: nil); return "ok" }
                    catch let e as ServerError { return e.code } catch { return "\(error)" }
                }
            }
            return await g.reduce(into: [String]()) { $0.append($1) }.sorted()
        }
        #expect(outcomes == ["api.busy", "ok", "ok"])
        #expect(small.passes == 1)
        // Through HTTP: the same texts sent at once all answer.
        let answers = try await withThrowingTaskGroup(of: Int.self) { g in
            for t in texts { g.addTask { try await s.client.route(RouteRequest(.text(t))).results.count } }
            return try await g.reduce(0, +)
        }
        #expect(answers == texts.count)
    }
}

