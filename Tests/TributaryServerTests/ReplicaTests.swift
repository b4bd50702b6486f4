import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
import NIOPosix
@testable import TributaryServer
import TributaryTestSupport

/// Several replicas on one PostgreSQL database (scripts/test.sh starts a throw-away cluster). Run
/// once, in the SQLite pass: they need PostgreSQL whichever backend the rest of the suite is on.
@Suite(.serialized, .enabled(if: TestPostgres.cluster != nil && !TestPostgres.selected, "needs TRIBUTARY_TEST_POSTGRES (scripts/test.sh)"))
struct ReplicaTests {
    /// A server's last reference can drop on an event loop's thread (Hummingbird's router holds it);
    /// closing the database there must not wait on a future, which NIO stops with a precondition
    /// failure (the PostgreSQL pass of CI once crashed so). The deinit here runs on the loop.
    @Test func aDatabaseReleasedOnAnEventLoopClosesWithoutWaiting() async throws {
        final class Holder: @unchecked Sendable { var database: PostgresDatabase? }
        let holder = Holder()
        holder.database = try PostgresDatabase(TestPostgres.cluster!)
        #expect(try holder.database!.first("SELECT 1", []) { $0.int(0) } == 1)
        try await MultiThreadedEventLoopGroup.singleton.next().submit { holder.database = nil }.get()
        // The cluster still answers a new connection (the old one closed on its own).
        #expect(try PostgresDatabase(TestPostgres.cluster!).first("SELECT 2", []) { $0.int(0) } == 2)
    }

    /// Issue 25: another session holding the write lock froze every request of a replica (38.8 s);
    /// now a write waits at most the lock timeout and answers 503, and works again once the lock is free.
    @Test func aHeldWriteLockAnswers503() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("pg-lock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var location = TestPostgres.database(for: dir)
        location.lockTimeoutSeconds = 1
        var config = f.serverConfig(dir)
        config.database = .postgres(location)
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        final class Holder: @unchecked Sendable { let database: PostgresDatabase; init(_ d: PostgresDatabase) { database = d } }
        let holder = Holder(try PostgresDatabase(location))
        // The other session holds the lock until told to let go (at most 60 s): a loaded machine's
        // scheduling cannot release it before the write tries.
        let holding = Flag(), release = Flag(), released = Flag()
        let held = Thread {
            _ = try? holder.database.transaction {
                holding.set(true)
                let end = Date().addingTimeInterval(60)
                while release.value == nil && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
            }
            released.set(true)
        }
        held.start()
        for _ in 0..<400 where holding.value == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        let start = Date()
        do {
            try await f.enrol("acme", on: s.server)
            Issue.record("an enrolment went through while another session held the write lock")
        } catch let e as StoreError {
            #expect(e.code == "server.database_unavailable", "\(e)")
        }
        // The lock timeout is 1 s; slack for a loaded machine (it waited 38.8 s before).
        #expect(Date().timeIntervalSince(start) < 10, "the write waited \(Date().timeIntervalSince(start)) s")
        release.set(true)
        for _ in 0..<400 where released.value == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        try await f.enrol("acme", on: s.server)
    }

    /// Two replicas' stores append at the same moment, 40 entries each: the log stays dense, every
    /// checkpoint is consistent with the one before it, and each size was signed once.
    @Test func concurrentAppendsThroughTwoConnectionsNeverFork() async throws {
        let database = TestPostgres.database(for: "appends-" + Hex.encode(secureRandomBytes(6)))
        let logKey = try SigningKey.generate(name: "test.tributary/log")
        let a = try MetadataStore(database: .postgres(database), logKey: logKey, anchorDigest: "anchor")
        let b = try MetadataStore(database: .postgres(database), logKey: logKey, anchorDigest: "anchor")
        let keys = try (0..<80).map { try SigningKey.generate(name: "org\($0)").verifierKey }
        let sizes = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for (n, store) in [a, b].enumerated() {
                group.addTask {
                    var sizes = [UInt64]()
                    for i in stride(from: n, to: keys.count, by: 2) { sizes.append(try await store.enrol(keys[i], request: nil, nonce: nil).size) }
                    return sizes
                }
            }
            var all = [UInt64]()
            for try await s in group { all += s }
            return all
        }
        #expect(sizes.sorted() == Array(1...80).map(UInt64.init))
        #expect(await a.logSize == 80)
        // Every checkpoint, checked against the one before it and against the tree.
        let db = try SQLDatabases.open(.postgres(database))
        let checkpoints = try db.query("SELECT size, root, note FROM checkpoints ORDER BY size", []) { (UInt64($0.int(0)), $0.blob(1), $0.text(2)) }
        #expect(checkpoints.map(\.0) == Array(1...80).map(UInt64.init))
        for (i, cp) in checkpoints.enumerated() {
            #expect(try Checkpoint.verify(note: Array(cp.2.utf8), key: logKey.verifierKey).root == cp.1)
            #expect(try await a.root(size: cp.0) == cp.1)
            if i > 0 {
                let old = checkpoints[i - 1]
                let proof = try await b.consistencyProof(first: old.0, second: cp.0)
                #expect(ProofVerification.consistency(first: old.0, second: cp.0, firstRoot: old.1, secondRoot: cp.1, proof: proof))
            }
        }
        // A third store opened now passes the start-up integrity check.
        _ = try MetadataStore(database: .postgres(database), logKey: logKey, anchorDigest: "anchor")
    }

    /// A replica whose lease ran out while a loaded machine was late to renew it still commits its
    /// release when nobody took the lease over (CI lost a release this way at 160 s of load); one
    /// whose lease another replica took is refused and nothing is logged.
    @Test func aReleaseIsRefusedOnlyWhenAnotherReplicaTookTheLease() async throws {
        let database = TestPostgres.database(for: "lease-" + Hex.encode(secureRandomBytes(6)))
        let logKey = try SigningKey.generate(name: "test.tributary/log")
        let a = try MetadataStore(database: .postgres(database), logKey: logKey, anchorDigest: "anchor")
        let b = try MetadataStore(database: .postgres(database), logKey: logKey, anchorDigest: "anchor")
        #expect(try await a.acquireReleaseLease(holder: "a", seconds: 10))
        let db = try SQLDatabases.open(.postgres(database))
        try db.run("UPDATE release_lease SET expires_at = 0 WHERE id = 1", [])  // ran out, nobody took it
        _ = try await a.commitRelease(number: 1, manifest: Array("one".utf8), logSize: 0, leaseHolder: "a")
        #expect(try await b.acquireReleaseLease(holder: "b", seconds: 10))  // a's lease had run out
        let size = await a.logSize
        await #expect(throws: StoreError.self) {
            try await a.commitRelease(number: 2, manifest: Array("two".utf8), logSize: 0, leaseHolder: "a")
        }
        #expect(await a.logSize == size)
        #expect(try await a.latestRelease()?.number == 1)
    }

    /// Two servers on one database and one store: an upload through one is released once and served
    /// by both; an opt-out through the other stops both routing to it and is released once.
    @Test func replicasShareReleasesAndOptOuts() async throws {
        let f = try await Fixture.shared.value
        let store = scratchDirectory("replicas-store"), dirA = scratchDirectory("replica-a"), dirB = scratchDirectory("replica-b")
        defer { for d in [store, dirA, dirB] { try? FileManager.default.removeItem(atPath: d) } }
        let database = TestPostgres.database(for: store)
        func config(_ dir: String, _ name: String) -> ServerConfig {
            var c = f.serverConfig(dir)
            c.database = .postgres(database)
            c.store = store
            c.replica = name
            c.replicaPollSeconds = 0.2
            return c
        }
        let a = try await RunningServer.start(config(dirA, "replica-a"))
        defer { Task { await a.stop() } }
        // The second replica uses the same log key: a copy of the first one's.
        try FileManager.default.copyItem(atPath: dirA + "/log.key", toPath: dirB + "/log.key")
        let b = try await RunningServer.start(config(dirB, "replica-b"))
        defer { Task { await b.stop() } }
        #expect(a.server.logVerifierKey == b.server.logVerifierKey)

        try await f.enrol("acme", on: a.server)
        _ = try await b.client.enrol(f.orgs["globex"]!.key.verifierKey, operatorKey: f.operatorKey)
        let acme = try await a.client.submit(bundle: try f.signedBundle("acme")).logIndex
        let globex = try await b.client.submit(bundle: try f.signedBundle("globex")).logIndex
        let ra = try await a.waitForRelease(with: [acme, globex])
        let rb = try await b.waitForRelease(with: [acme, globex])
        #expect(ra.release == rb.release)
        // Built once: no release repeats the one before it (two replicas building the same state would).
        try expectEachReleaseChanges(store, a.server)

        // Opt-out through B: A stops routing to it within its poll interval, and the next release drops it.
        _ = try await b.client.revokeContribution(acme, key: f.orgs["acme"]!.key)
        _ = try await a.waitForRelease(with: [globex])
        let latest = try await b.waitForRelease(with: [globex]).release
        // `/v1/releases/latest` reads the database; A's routing adopts the release at its next poll
        // (0.2 s here): within a few polls it routes with it, nothing withdrawn left over.
        var adopted = false
        for _ in 0..<50 where !adopted {
            let current = await a.server.releases.current?.manifest.release, withdrawn = await a.server.releases.withdrawn
            adopted = current == latest && withdrawn.isEmpty
            if !adopted { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(adopted, "replica A does not route with release \(latest) 5 s after it was published")
        try expectEachReleaseChanges(store, a.server)
        #expect(try await a.client.checkpoint() == (try await b.client.checkpoint()))
    }
}

/// Every logged release's manifest names different contributions from the release before it.
func expectEachReleaseChanges(_ store: String, _ server: AggregationServer) throws {
    var previous: [UInt64]?
    let dirs = try FileManager.default.contentsOfDirectory(atPath: store + "/releases").filter { Int($0) != nil }.sorted()
    #expect(!dirs.isEmpty)
    for d in dirs {
        let manifest = try ReleaseManifest.verify(try readSmallFile(store + "/releases/" + d + "/" + ReleaseLayout.manifestFile, limit: 1 << 20),
                                                  key: server.logVerifierKey)
        let experts = manifest.experts.map(\.contribution)
        #expect(experts != previous, "release \(d) repeats the release before it: \(experts)")
        previous = experts
    }
}
