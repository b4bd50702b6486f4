/// The server's SQLite schema. The log (entries and tree nodes) is the source of truth; the other
/// tables index it (who is enrolled, which contributions are live) and are written in the same
/// transaction as the entry they derive from.
enum Schema {
    static let version = 1

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
        """
        CREATE TABLE IF NOT EXISTS keys (
            key_id TEXT PRIMARY KEY, organisation TEXT NOT NULL, verifier_key TEXT NOT NULL UNIQUE,
            enrolled_at INTEGER NOT NULL, revoked_at INTEGER)
        """,
        """
        CREATE TABLE IF NOT EXISTS contributions (
            log_index INTEGER PRIMARY KEY, organisation TEXT NOT NULL, key_id TEXT NOT NULL,
            statement_sha256 TEXT NOT NULL UNIQUE, envelope_sha256 TEXT NOT NULL,
            expert_sha256 TEXT NOT NULL UNIQUE, routing_sha256 TEXT NOT NULL, nonce TEXT NOT NULL UNIQUE,
            privacy TEXT NOT NULL, revoked_at INTEGER)
        """,
        "CREATE TABLE IF NOT EXISTS request_nonces (nonce TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS releases (
            number INTEGER PRIMARY KEY, log_index INTEGER NOT NULL, manifest_sha256 TEXT NOT NULL, log_size INTEGER NOT NULL)
        """,
    ]
}
