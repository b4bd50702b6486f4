import Foundation
import Testing
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryDevTools
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// `tributary admin migrate`: a SQLite deployment moved to PostgreSQL, audited before and after by
/// one auditor keeping its state. Needs the test cluster (scripts/test.sh); runs in the SQLite pass.
@Suite(.serialized, .enabled(if: TestPostgres.cluster != nil && !TestPostgres.selected, "needs TRIBUTARY_TEST_POSTGRES (scripts/test.sh)"))
struct MigrationTests {
    @Test func sqliteDeploymentMovesToPostgresAndAuditsTheSame() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("migrate"), state = scratchDirectory("migrate-state")
        defer { for d in [dir, state] { try? FileManager.default.removeItem(atPath: d) } }
        let sqliteConfig = f.serverConfig(dir)
        #expect(sqliteConfig.database == nil)
        let s = try await RunningServer.start(sqliteConfig)
        for org in ["acme", "globex"] { try await f.enrol(org, on: s.server) }
        var indices = [UInt64]()
        for org in ["acme", "globex"] { indices.append(try await s.client.submit(bundle: try f.signedBundle(org)).logIndex) }
        _ = try await s.waitForRelease(with: indices)
        _ = try await s.client.revokeContribution(indices[0], key: f.orgs["acme"]!.key)
        _ = try await s.waitForRelease(with: [indices[1]])
        try await Task.sleep(nanoseconds: 300_000_000)
        let options = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        let before = try await Auditor(source: ServerLogSource(client: s.client), options: options).run()
        #expect(before.passed, "\(before.text)")
        let checkpointBefore = try await s.client.checkpoint()
        let logKey = s.server.logKey
        await s.stop()

        let target = TestPostgres.database(for: dir)
        let report = try DatabaseCopy.copy(from: sqliteConfig.databaseLocation, to: .postgres(target), logKey: logKey)
        #expect(report.rows.first { $0.table == "log_entries" }?.count == Int(before.checkpointSize))
        #expect(report.rows.first { $0.table == "contributions" }?.count == 2)

        // The same data directory (log key, blobs, releases), the metadata now on PostgreSQL.
        var pgConfig = sqliteConfig
        pgConfig.database = .postgres(target)
        let p = try await RunningServer.start(pgConfig)
        defer { Task { await p.stop() } }
        #expect(try await p.client.checkpoint() == checkpointBefore)
        let after = try await Auditor(source: ServerLogSource(client: p.client), options: options).run()
        #expect(after.passed, "\(after.text)")
        #expect(after.previousSize == before.checkpointSize)
        // And it goes on: a new contribution is accepted, released and audited incrementally.
        let acme = f.orgs["acme"]!
        let fresh = try BundleFactory(base: acme.unsignedBundle, key: acme.key, work: dir + "/scratch", origin: Fixture.origin).make(1)
        let again = try await p.client.submit(bundle: fresh).logIndex
        _ = try await p.waitForRelease(with: [indices[1], again])
        try await Task.sleep(nanoseconds: 300_000_000)
        let later = try await Auditor(source: ServerLogSource(client: p.client), options: options).run()
        #expect(later.passed, "\(later.text)")

        // A second migration into the now non-empty database is refused and changes nothing.
        let db = try SQLDatabases.open(.postgres(target))
        let entries = try db.first("SELECT COUNT(*) FROM log_entries", [], { $0.int(0) })
        #expect(throws: TributaryError.self) { _ = try DatabaseCopy.copy(from: sqliteConfig.databaseLocation, to: .postgres(target), logKey: logKey) }
        #expect(try db.first("SELECT COUNT(*) FROM log_entries", [], { $0.int(0) }) == entries)
    }

    /// A database written by a newer server (a migration this one does not know) is refused at start.
    @Test func newerSchemaIsRefused() async throws {
        let target = TestPostgres.database(for: "newer-" + Hex.encode(secureRandomBytes(6)))
        let key = try SigningKey.generate(name: "test.tributary/log")
        _ = try MetadataStore(database: .postgres(target), logKey: key, anchorDigest: "anchor")
        let db = try SQLDatabases.open(.postgres(target))
        try db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 'later')", [.int(Int64(Schema.version + 1))])
        #expect(throws: StoreError.self) { _ = try MetadataStore(database: .postgres(target), logKey: key, anchorDigest: "anchor") }
    }
}

@Suite struct SchemaAndLocationTests {
    /// A database from before numbered migrations (`meta.schema` = 2, no record) is brought to the
    /// newest version on open, its rows kept.
    @Test func legacySQLiteDatabaseIsMigrated() throws {
        let dir = scratchDirectory("legacy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tributary.sqlite"
        do {
            let db = try SQLiteDatabase(path: path)
            for s in Schema.migrations(.sqlite).first!.statements { try db.execute(s) }
            try db.run("INSERT INTO meta (key, value) VALUES ('anchor', 'a'), ('origin', 'test.tributary/log'), ('schema', '2')", [])
        }
        let key = try SigningKey.generate(name: "test.tributary/log")
        _ = try MetadataStore(path: path, logKey: key, anchorDigest: "a")
        let db = try SQLiteDatabase(path: path)
        #expect(try db.query("SELECT version FROM schema_migrations ORDER BY version", [], { Int($0.int(0)) }) == Array(2...Schema.version))
        #expect(try db.first("SELECT value FROM meta WHERE key = 'schema'", [], { $0.text(0) }) == String(Schema.version))
        #expect(try db.tableExists("release_lease"))
        // Opening again applies nothing twice.
        _ = try MetadataStore(path: path, logKey: key, anchorDigest: "a")
        #expect(try db.first("SELECT COUNT(*) FROM schema_migrations", [], { Int($0.int(0)) }) == Schema.version - 1)
    }

    @Test func postgresURLs() throws {
        let l = try PostgresLocation.parse("postgres://tributary@db.example:6543/log?sslmode=require", environment: ["PGPASSWORD": "s3cret"])
        #expect(l == PostgresLocation(host: "db.example", port: 6543, user: "tributary", database: "log", password: "s3cret", requireTLS: true))
        #expect(!l.description.contains("s3cret"))
        let dir = scratchDirectory("pgpass")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFileWriter.write(Array("from-file\nignored\n".utf8), to: dir + "/pw", mode: 0o600)
        #expect(try PostgresLocation.parse("postgres://u@h/d", passwordFile: dir + "/pw", environment: ["PGPASSWORD": "env"]).password == "from-file")
        // Issue 25: a password file others can read is refused, like a key.
        try AtomicFileWriter.write(Array("secret\n".utf8), to: dir + "/open", mode: 0o644)
        do {
            _ = try PostgresLocation.parse("postgres://u@h/d", passwordFile: dir + "/open", environment: [:])
            Issue.record("a world-readable password file was read")
        } catch let e as TributaryError { #expect(e.code == "key.permissions") }
        #expect(try PostgresLocation.parse("postgres://u@h/d", environment: [:]).port == 5432)
        for bad in ["postgres://u:pw@h/d", "mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=maybe", "postgres://u@h:0/d"] {
            #expect(throws: TributaryError.self, "\(bad)") { _ = try PostgresLocation.parse(bad, environment: [:]) }
        }
        do { _ = try PostgresLocation.parse("postgres://u:pw@h/d", environment: [:]) } catch let e as TributaryError {
            #expect(e.code == "server.password_in_url")
            #expect(!e.message.contains("pw@"))
        }
    }

    @Test func placeholdersAreNumbered() {
        #expect(PostgresDatabase.numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)")
    }
}
