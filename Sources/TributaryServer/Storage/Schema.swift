import TributaryCore

/// The server's schema, as numbered migrations. The log (entries and tree nodes) is the source of
/// truth; the other tables index it (who is enrolled with which keys, which contributions are live,
/// the releases) and are written in the same transaction as the entry they derive from.
///
/// `schema_migrations` records each migration applied; `meta.schema` mirrors the latest, so a server
/// older than the database refuses it instead of writing to tables it does not know.
enum Schema {
    /// The newest migration this server knows.
    static var version: Int { migrations(.sqlite).last!.version }

    /// Versions 1 and 2 predate numbered migrations: a database made then has `meta.schema` = 2 and
    /// every table of migration 2.
    static let firstNumbered = 2

    struct Migration {
        let version: Int
        let statements: [String]
    }

    static func migrations(_ dialect: SQLDialect) -> [Migration] {
        let t = Types(dialect)
        return [
            Migration(version: 2, statements: [
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS log_entries (idx \(t.int) PRIMARY KEY, entry \(t.blob) NOT NULL, leaf_hash \(t.blob) NOT NULL, type TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS tree_nodes (level \(t.int) NOT NULL, idx \(t.int) NOT NULL, hash \(t.blob) NOT NULL, PRIMARY KEY (level, idx))\(t.withoutRowID)",
                "CREATE TABLE IF NOT EXISTS checkpoints (size \(t.int) PRIMARY KEY, root \(t.blob) NOT NULL, note TEXT NOT NULL)",
                // Every key ever enrolled, by its full verifier key: key IDs are 4-byte hints that may
                // collide, so lookups go by (organisation, key ID) and may find several.
                """
                CREATE TABLE IF NOT EXISTS keys (
                    verifier_key TEXT PRIMARY KEY, key_id TEXT NOT NULL, organisation TEXT NOT NULL,
                    enrolled_at \(t.int) NOT NULL, retired_at \(t.int), revoked_at \(t.int))
                """,
                "CREATE INDEX IF NOT EXISTS keys_by_id ON keys (organisation, key_id)",
                """
                CREATE TABLE IF NOT EXISTS contributions (
                    log_index \(t.int) PRIMARY KEY, organisation TEXT NOT NULL, key_id TEXT NOT NULL, verifier_key TEXT NOT NULL,
                    statement_sha256 TEXT NOT NULL UNIQUE, envelope_sha256 TEXT NOT NULL,
                    expert_sha256 TEXT NOT NULL UNIQUE, routing_sha256 TEXT NOT NULL, nonce TEXT NOT NULL UNIQUE,
                    privacy TEXT NOT NULL, epsilon \(t.double) NOT NULL, revoked_at \(t.int), taken_down_at \(t.int))
                """,
                "CREATE INDEX IF NOT EXISTS contributions_by_key ON contributions (verifier_key)",
                "CREATE TABLE IF NOT EXISTS request_nonces (nonce TEXT PRIMARY KEY, seen_at \(t.int) NOT NULL)",
                "CREATE INDEX IF NOT EXISTS request_nonces_by_time ON request_nonces (seen_at)",
                """
                CREATE TABLE IF NOT EXISTS releases (
                    number \(t.int) PRIMARY KEY, log_index \(t.int) NOT NULL, manifest_sha256 TEXT NOT NULL, log_size \(t.int) NOT NULL)
                """,
                "CREATE TABLE IF NOT EXISTS policies (log_index \(t.int) PRIMARY KEY, document \(t.blob) NOT NULL)",
                // Checkpoints that met the witness policy, with their cosignatures (only with witnesses), and
                // the largest size each witness cosigned: a witness that later claims less lost its state.
                "CREATE TABLE IF NOT EXISTS witnessed_checkpoints (size \(t.int) PRIMARY KEY, note TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS witness_sizes (witness TEXT PRIMARY KEY, size \(t.int) NOT NULL)",
            ]),
            // Replicas: which one builds the next release (a lease with an expiry, so a replica that
            // died holding it does not stop releases for longer than the lease).
            Migration(version: 3, statements: [
                "CREATE TABLE IF NOT EXISTS release_lease (id \(t.int) PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at \(t.int) NOT NULL)",
            ]),
        ]
    }

    /// The column types that differ: SQLite's INTEGER is 64-bit, PostgreSQL's is not.
    struct Types {
        let int, double, blob, withoutRowID: String
        init(_ dialect: SQLDialect) {
            switch dialect {
            case .sqlite: (int, double, blob, withoutRowID) = ("INTEGER", "REAL", "BLOB", " WITHOUT ROWID")
            case .postgres: (int, double, blob, withoutRowID) = ("BIGINT", "DOUBLE PRECISION", "BYTEA", "")
            }
        }
    }

    /// Brings `db` to `version`, in one transaction under the write lock (two replicas starting
    /// together migrate once). Refuses a database newer than this server.
    static func migrate(_ db: any SQLDatabase) throws {
        try db.transaction {
            try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version \(Types(db.dialect).int) PRIMARY KEY, applied_at TEXT NOT NULL)")
            var applied = try db.first("SELECT MAX(version) FROM schema_migrations", [], { $0.isNull(0) ? nil : Int($0.int(0)) }) ?? nil
            if applied == nil, try db.tableExists("meta") {
                let legacy = try db.first("SELECT value FROM meta WHERE key = 'schema'", [], { $0.text(0) })
                guard legacy == String(firstNumbered) else {
                    throw StoreError.corrupt("the database has schema version \(legacy ?? "none") and no migration record; this server reads version \(firstNumbered) and later")
                }
                try record(firstNumbered, db)
                applied = firstNumbered
            }
            if let applied, applied > version {
                throw StoreError.corrupt("the database has schema version \(applied), newer than this server's \(version): run a newer server")
            }
            for m in migrations(db.dialect) where m.version > (applied ?? 0) {
                for s in m.statements { try db.execute(s) }
                try record(m.version, db)
            }
            if try db.first("SELECT 1 FROM meta WHERE key = 'schema'", [], { _ in true }) != nil {
                try db.run("UPDATE meta SET value = ? WHERE key = 'schema'", [.text(String(version))])
            }
        }
    }

    private static func record(_ version: Int, _ db: any SQLDatabase) throws {
        try db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", [.int(Int64(version)), .text(Timestamp.nowRFC3339())])
    }
}
