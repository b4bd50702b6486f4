import Foundation
import Testing
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

@Suite(.serialized) struct RevocationAndRestartTests {
    @Test func optOutRemovesTheExpertFromReleasesAndRouting() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("revoke")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try await RunningServer.start(f.serverConfig(dir))
        defer { Task { await s.stop() } }
        for org in ["acme", "globex"] { try await f.enrol(org, on: s.server) }
        let a = try await s.client.submit(bundle: try f.signedBundle("acme"))
        let acme = a.logIndex
        _ = try await s.waitForRelease(with: [acme])
        let g = try await s.client.submit(bundle: try f.signedBundle("globex"))
        let globex = g.logIndex
        _ = try await s.waitForRelease(with: [acme, globex])

        // globex may not revoke acme's contribution.
        do {
            _ = try await s.client.revokeContribution(acme, key: f.orgs["globex"]!.key)
            Issue.record("another organisation revoked a contribution")
        } catch let e as RemoteError { #expect(e.code == "request.forbidden" && e.status == 403) }
        // acme opts out; the request is logged; a replay of the same signed request is refused.
        let request = f.request("revoke-contribution", [("contribution", .uint64(acme))], key: f.orgs["acme"]!.key)
        let r = try await s.client.postBytes("/v1/contributions/\(acme)/revocation", request)
        let revIndex = try #require(r["logIndex"]?.uint64Value)
        do {
            _ = try await s.client.postBytes("/v1/contributions/\(acme)/revocation", request)
            Issue.record("replayed revocation accepted")
        } catch let e as RemoteError { #expect(["request.replayed", "api.conflict"].contains(e.code), "\(e.code)") }
        let entry = try LogEntry.parse(try await s.client.entries(start: revIndex, end: revIndex + 1)[0])
        guard case let .contributionRevocation(c, org, _, req) = entry else { Issue.record("not a revocation entry"); return }
        #expect(c == acme && org == "acme" && req == request)
        // The next release has only globex, and routing never names acme again.
        _ = try await s.waitForRelease(with: [globex])
        for text in ["#include <linux/types.h>\nstruct x { int a; };\n", "def f():\n    pass\n", "hello world"] {
            let route = try await s.client.route(RouteRequest(.text(text), topK: 3))
            #expect(!route.results[0].contains { $0.organisation == "acme" })
        }
        #expect(try await s.client.contribution(acme).revokedAt == revIndex)
    }

    @Test func restartKeepsTheLogAndItsCheckpointsConsistent() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        let first = try await RunningServer.start(config)
        try await f.enrol("acme", on: first.server)
        _ = try await first.client.submit(bundle: try f.signedBundle("acme"))
        let key = first.server.logVerifierKey
        let before = try Checkpoint.verify(note: try await first.client.checkpoint(), key: key)
        await first.stop()

        let second = try await RunningServer.start(config)
        defer { Task { await second.stop() } }
        #expect(second.server.logVerifierKey == key, "the log key survives restarts")
        let same = try Checkpoint.verify(note: try await second.client.checkpoint(), key: key)
        #expect(same == before)
        try await f.enrol("globex", on: second.server)
        let after = try Checkpoint.verify(note: try await second.client.checkpoint(), key: key)
        #expect(after.size == before.size + 1)
        let proof = try await second.client.consistencyProof(first: before.size, second: after.size)
        #expect(ProofVerification.consistency(first: before.size, second: after.size, firstRoot: before.root, secondRoot: after.root, proof: proof))
    }

    @Test func editedDatabaseIsRefusedAtStart() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("tamper")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = f.serverConfig(dir)
        let s = try await RunningServer.start(config)
        try await f.enrol("acme", on: s.server)
        try await f.enrol("globex", on: s.server)
        await s.stop()
        // Someone rewrites an entry in place.
        let db = try SQLDatabases.open(config.databaseLocation)
        try db.run("UPDATE log_entries SET entry = ? WHERE idx = 0", [.blob(LogEntry.enrolment(organisation: "mallory", verifierKey: "x", time: "2026-01-01T00:00:00Z", request: nil).bytes)])
        await #expect(throws: StoreError.self) { _ = try await AggregationServer.open(config) }
    }
}
