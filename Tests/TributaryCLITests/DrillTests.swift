import Foundation
import Testing
import TributaryClient
import TributaryCore
@testable import TributaryDevTools
import TributaryDemo
import TributaryLog
import TributaryTestSupport

/// The fault drill and the load test, small: a few kill/restart cycles and a few seconds of load
/// against the `tributary` binary of this build. RELIABILITY.md has the full-size figures.
@Suite(.serialized)
struct DrillTests {
    static let deployment = Task<SmallDeployment, Error> {
        let work = scratchPath("drill-deployment")
        return try SmallDeployment.build(work: work, organisations: [("org0", "linux-uapi"), ("org1", "perl"), ("org2", "locales")])
    }

    @Test func faultDrillLosesNothingAcrossKills() async throws {
        let dir = TempDir()
        var o = FaultDrillOptions()
        o.cycles = 3
        o.uploaders = 3
        // Long enough under the debug build with other tests running for uploads to get through.
        o.uptime = 0.8...1.6
        let report = try await FaultDrill(binary: tributaryBinary, work: dir.path, options: o, deployment: try await Self.deployment.value).run { _ in }
        #expect(report.passed, "\(report.text)")
        #expect(report.cycles == 3)
        #expect(report.auditsPassed == 3)
        #expect(report.uploadsAcknowledged > 0)
        #expect(report.checkpointsChecked > 0)
    }

    /// Two replicas on a PostgreSQL cluster of the test's own (it is crashed, so not the one the
    /// other tests share): replica and database SIGKILLs under load, nothing acknowledged lost.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRIBUTARY_TEST_POSTGRES"] != nil, "needs PostgreSQL (scripts/test.sh)"))
    func replicaDrillLosesNothingAcrossReplicaAndDatabaseKills() async throws {
        let dir = TempDir()
        let database = try DrillDatabase.startCluster(script: packageRoot + "/scripts/postgres-test-cluster.sh", directory: dir.path + "/postgres")
        defer { database.stopCluster() }
        var o = ReplicaDrillOptions()
        o.replicas = 2
        o.databaseCrashShare = 0.5
        o.drill.cycles = 3
        o.drill.uploaders = 3
        o.drill.uptime = 0.8...1.6
        let report = try await ReplicaDrill(binary: tributaryBinary, work: dir.path, database: database, options: o,
                                            deployment: try await Self.deployment.value).run { _ in }
        #expect(report.passed, "\(report.text)")
        #expect(report.base.cycles == 3 && report.base.auditsPassed == 3)
        #expect(report.replicaKills > 0 && report.databaseCrashes > 0, "seed 1 draws both kinds of kill")
        #expect(report.base.uploadsAcknowledged > 0)
    }

    @Test func loadTestLosesNothing() async throws {
        let dir = TempDir()
        var o = LoadTestOptions()
        o.uploaders = 3
        o.routers = 16
        o.seconds = 4
        o.uploadPause = 0.05...0.2
        o.releaseInterval = 1
        let report = try await LoadTest(binary: tributaryBinary, work: dir.path, options: o, deployment: try await Self.deployment.value).run { _ in }
        #expect(report.passed, "\(report.text)")
        #expect(report.acknowledgedUploads > 0 && report.lost == 0)
        #expect(report.operations.first { $0.name == "route" }.map { ($0.outcomes["200"] ?? 0) > 0 } == true)
    }

    /// The drill's checks have teeth: a server restored from a backup taken before an acknowledged
    /// upload is caught rolling back the checkpoint it handed out, and losing the contribution.
    @Test func restoredBackupIsCaughtAsRollback() async throws {
        let dir = TempDir()
        let deployment = try await Self.deployment.value
        let (server, logKey) = try await DrillSetup.startServer(binary: tributaryBinary, work: dir.path, deployment: deployment, origin: "drill.test/log")
        defer { server.kill() }
        let client = try TributaryClient(server: server.url)
        _ = try await client.enrol(deployment.organisations["org0"]!.key.verifierKey, operatorKey: deployment.operatorKey)
        server.kill()
        try FileManager.default.copyItem(atPath: dir.file("server"), toPath: dir.file("backup"))
        try await server.start()

        let ledger = DrillLedger()
        await ledger.beginPhase()
        let signed = try deployment.signedBundle("org0", in: dir.file("bundle"), origin: logKey.name)
        let sent = SentBundle(organisation: "org0", directory: signed.directory, statement: signed.statementBytes,
                              statementSHA256: Hex.encode(SHA256.digest(signed.statementBytes)))
        let reply = try await client.submit(bundle: dir.file("bundle"))
        await ledger.saw(try Checkpoint.verify(note: Array(reply.checkpoint.utf8), key: logKey))

        server.kill()
        try FileManager.default.removeItem(atPath: dir.file("server"))
        try FileManager.default.moveItem(atPath: dir.file("backup"), toPath: dir.file("server"))
        try await server.start()
        let checks = DrillChecks(client: client, ledger: ledger, deployment: deployment, logKey: logKey, dataDirectory: dir.file("server"), scratch: dir.path)
        _ = try await checks.consistency(with: await ledger.checkpoints)
        let stored = try await checks.verifyStored(sent)
        #expect(stored == nil, "the contribution acknowledged after the backup is gone")
        let failures = await ledger.failures
        #expect(failures.contains { $0.hasPrefix("rollback:") }, "\(failures)")
    }
}
