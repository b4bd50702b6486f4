import Foundation
import AsyncHTTPClient
import Testing
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryTestSupport
@_spi(Benchmarks) @testable import TributaryServer

/// The log served as C2SP tlog-tiles: what a client computes from tiles alone equals what the proof
/// endpoints answer, for trees of many sizes; Go's sumdb/tlog reads the same tiles; an audit that
/// reads only tiles passes on an honest log and catches a fork.
@Suite(.serialized) struct TileServingTests {
    /// Entries, roots and proofs through tiles against the API, at the server's current size and
    /// at earlier sizes (whose partial tiles are prefixes of today's).
    func compare(_ s: RunningServer, earlier: [UInt64]) async throws {
        let reader = TileLogReader(client: s.client)
        let note = try await s.client.checkpoint()
        let cp = try Checkpoint.verify(note: note, key: s.server.logVerifierKey)
        let size = cp.size
        #expect(try await reader.root(size: size) == cp.root)
        #expect(try await reader.entries(start: 0, end: size) == (try await ServerLogSource(client: s.client).entries(start: 0, end: size)))
        for tree in Set(earlier.filter { $0 >= 1 && $0 <= size } + [size]) {
            for index in Set([0, tree / 2, tree - 1]) {
                #expect(try await reader.inclusionProof(index: index, size: tree) == (try await s.client.inclusionProof(index: index, size: tree)),
                        "inclusion of \(index) in \(tree)")
            }
            for first in Set([1, tree / 3, tree]) where first >= 1 {
                #expect(try await reader.consistencyProof(first: first, second: tree) == (try await s.client.consistencyProof(first: first, second: tree)),
                        "consistency \(first) → \(tree)")
            }
        }
    }

    @Test func tilesAgreeWithTheProofEndpointsAtEverySize() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("tiles")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        var sizes = [await s.server.store.logSize]   // the policy entry
        // Sizes around every tile boundary up to the first partial level-2 tile.
        for target: UInt64 in [2, 255, 256, 257, 300, 511, 512, 513, 65_535, 65_536, 65_537] {
            try await s.server.store.appendSyntheticEntries(Int(target - sizes.last!))
            sizes.append(target)
            try await compare(s, earlier: target > 1000 ? [1, 256, 513, target - 1] : sizes)
        }
        // HTTP: types, caching, refusals.
        let full = try await s.client.send(.GET, "/tile/0/000")
        #expect(full.body.count == 256 * 32)
        // A partial tile of an earlier size is a prefix of today's full one, and stays served.
        let level1 = try await s.client.send(.GET, "/tile/1/000")
        #expect(try await s.client.send(.GET, "/tile/1/000.p/255").body == Array(level1.body.prefix(255 * 32)))
        let partial = try await s.client.send(.GET, "/tile/2/000.p/1")
        #expect(partial.body == (try await TileLogReader(client: s.client).root(size: 65_536)))
        for (path, status, code) in [("/tile/0/x001/000", 404, "tile.not_found"),         // leaf 256,000: not in the tree
                                     ("/tile/2/000.p/2", 404, "tile.not_found"),          // wider than the tree's 1
                                     ("/tile/2/000", 404, "tile.not_found"),
                                     ("/tile/0/0000", 400, "tile.bad_path"), ("/tile/0/000.p/256", 400, "tile.bad_path")] {
            do {
                _ = try await s.client.send(.GET, path)
                Issue.record("\(path) was served")
            } catch let e as RemoteError {
                #expect(e.status == status && e.code == code, "\(path): \(e.status) \(e.code)")
            }
        }
    }

    @Test func tileResponsesCarryTheSpecHeaders() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("tile-headers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        for (path, type, cache) in [("/tile/0/000.p/1", "application/octet-stream", "immutable"),
                                    ("/tile/entries/000.p/1", "application/octet-stream", "immutable"),
                                    ("/checkpoint", "text/plain; charset=utf-8", "no-cache")] {
            var request = HTTPClientRequest(url: s.client.base + path)
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 200, "\(path)")
            #expect(response.headers.first(name: "Content-Type") == type, "\(path)")
            #expect(response.headers.first(name: "Cache-Control")?.contains(cache) == true, "\(path)")
        }
    }

    /// Go's golang.org/x/mod/sumdb (not our code): note verifies the checkpoint, tlog authenticates
    /// every tile it reads against the root and checks inclusion and consistency proofs it builds.
    @Test func goSumdbTlogReadsTheTiles() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("tiles-go")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        try await s.server.store.appendSyntheticEntries(299)
        let old = try Checkpoint.verify(note: try await s.client.checkpoint(), key: s.server.logVerifierKey)
        try await s.server.store.appendSyntheticEntries(70_000 - 300)
        let go = "/usr/bin/go"
        guard FileManager.default.isExecutableFile(atPath: go), FileManager.default.fileExists(atPath: "/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog") else {
            throw TributaryError("test.go_missing", "Go and golang.org/x/mod are missing: run scripts/setup.sh (golang-go, golang-golang-x-mod-dev)")
        }
        let cache = TempDir("gocache")
        let out = try runText(go, ["run", packageRoot + "/scripts/interop/tlog-tiles/main.go", s.client.base, s.server.logVerifierKey.encoded,
                                   String(old.size), Base64.encode(old.root)],
                              environment: ["GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": cache.path, "GOFLAGS": ""])
        #expect(out.hasPrefix("ok: checkpoint of size 70000"), "\(out)")
        #expect(out.contains("consistent with size 300"), "\(out)")
    }

    @Test func tileOnlyAuditPassesAndCatchesAFork() async throws {
        let scene = try await AuditScene.make("audit-tiles")
        defer { Task { await scene.close() } }
        let options = AuditOptions(logKey: scene.s.server.logVerifierKey, operatorKey: scene.f.operatorKey.verifierKey, stateDirectory: scene.state)
        let first = try await Auditor(source: TileLogSource(client: scene.s.client), options: options).run()
        #expect(first.passed, "\(first.text)")
        #expect(first.contributions == 2 && first.releases >= 1)
        // Incremental, with the consistency proof computed from tiles.
        _ = try await scene.s.client.revokeContribution(scene.acme, key: scene.f.orgs["acme"]!.key)
        try await Task.sleep(nanoseconds: 300_000_000)
        let second = try await Auditor(source: TileLogSource(client: scene.s.client), options: options).run()
        #expect(second.passed && second.newEntries > 0, "\(second.text)")
        #expect(second.checks.contains { $0.contains("consistency proof") }, "\(second.checks)")
        // A fork with the same key, longer than what the auditor saw: its tiles cannot prove consistency.
        let forkDir = scratchDirectory("tiles-fork")
        defer { try? FileManager.default.removeItem(atPath: forkDir) }
        try FileManager.default.copyItem(atPath: scene.dir + "/log.key", toPath: forkDir + "/log.key")
        let fork = try await RunningServer.start(scene.f.serverConfig(forkDir))
        defer { Task { await fork.stop() } }
        try await fork.server.store.appendSyntheticEntries(Int(second.checkpointSize) + 5)
        let forked = try await Auditor(source: TileLogSource(client: fork.client), options: options).run()
        expectFinding(forked, "audit.fork", "forked log read through tiles")
    }
}
