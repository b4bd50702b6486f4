/// The server's SQLite schema. The log (entries and tree nodes) is the source of truth; the other
/// tables index it (who is enrolled with which keys, which contributions are live, the releases) and
/// are written in the same transaction as the entry they derive from.
enum Schema {
    static let version = 2

    static let statements = [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS log_entries (
            idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf_hash BLOB NOT NULL, type TEXT NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS tree_nodes (
            level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID
        """,
        "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL)",
        // Every key ever enrolled, by its full verifier key: key IDs are 4-byte hints that may
        // collide, so lookups go by (organisation, key ID) and may find several.
        """
        CREATE TABLE IF NOT EXISTS keys (
            verifier_key TEXT PRIMARY KEY, key_id TEXT NOT NULL, organisation TEXT NOT NULL,
            enrolled_at INTEGER NOT NULL, retired_at INTEGER, revoked_at INTEGER)
        """,
        "CREATE INDEX IF NOT EXISTS keys_by_id ON keys (organisation, key_id)",
        """
        CREATE TABLE IF NOT EXISTS contributions (
            log_index INTEGER PRIMARY KEY, organisation TEXT NOT NULL, key_id TEXT NOT NULL, verifier_key TEXT NOT NULL,
            statement_sha256 TEXT NOT NULL UNIQUE, envelope_sha256 TEXT NOT NULL,
            expert_sha256 TEXT NOT NULL UNIQUE, routing_sha256 TEXT NOT NULL, nonce TEXT NOT NULL UNIQUE,
            privacy TEXT NOT NULL, epsilon REAL NOT NULL, revoked_at INTEGER, taken_down_at INTEGER)
        """,
        "CREATE INDEX IF NOT EXISTS contributions_by_key ON contributions (verifier_key)",
        "CREATE TABLE IF NOT EXISTS request_nonces (nonce TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS request_nonces_by_time ON request_nonces (seen_at)",
        """
        CREATE TABLE IF NOT EXISTS releases (
            number INTEGER PRIMARY KEY, log_index INTEGER NOT NULL, manifest_sha256 TEXT NOT NULL, log_size INTEGER NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS policies (log_index INTEGER PRIMARY KEY, document BLOB NOT NULL)",
        // Checkpoints that met the witness policy, with their cosignatures (only with witnesses), and
        // the largest size each witness cosigned: a witness that later claims less lost its state.
        "CREATE TABLE IF NOT EXISTS witnessed_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS witness_sizes (witness TEXT PRIMARY KEY, size INTEGER NOT NULL)",
    ]
}
