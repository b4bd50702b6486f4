import Foundation
import TributaryCore

/// What `copy` moved, table by table, and the checkpoint both databases end on.
public struct DatabaseCopyReport: Sendable {
    public let rows: [(table: String, count: Int)]
    public let checkpointSize: UInt64
    public let checkpoint: String
}

/// Moves a deployment's metadata to another database (`tributary admin migrate`: SQLite to
/// PostgreSQL): every table, row for row, in one transaction of the target. The source is opened
/// as a server would open it (its log checked against its signed checkpoints) and the target is
/// opened the same way afterwards; the two must end on the same signed checkpoint and hold the same
/// number of rows in every table. A target that already holds anything is refused, untouched.
public enum DatabaseCopy {
    enum Column {
        case int, double, text, blob
    }

    /// Every table with its columns, in an order that respects what refers to what. Not copied: the
    /// migration record (the target has its own) and the release lease (nobody is building).
    static let tables: [(name: String, columns: [(String, Column)])] = [
        ("meta", [("key", .text), ("value", .text)]),
        ("log_entries", [("idx", .int), ("entry", .blob), ("leaf_hash", .blob), ("type", .text)]),
        ("tree_nodes", [("level", .int), ("idx", .int), ("hash", .blob)]),
        ("checkpoints", [("size", .int), ("root", .blob), ("note", .text)]),
        ("keys", [("verifier_key", .text), ("key_id", .text), ("organisation", .text), ("enrolled_at", .int), ("retired_at", .int), ("revoked_at", .int)]),
        ("contributions", [("log_index", .int), ("organisation", .text), ("key_id", .text), ("verifier_key", .text), ("statement_sha256", .text),
                           ("envelope_sha256", .text), ("expert_sha256", .text), ("routing_sha256", .text), ("nonce", .text), ("privacy", .text),
                           ("epsilon", .double), ("revoked_at", .int), ("taken_down_at", .int)]),
        ("request_nonces", [("nonce", .text), ("seen_at", .int)]),
        ("releases", [("number", .int), ("log_index", .int), ("manifest_sha256", .text), ("log_size", .int)]),
        ("policies", [("log_index", .int), ("document", .blob)]),
        ("witnessed_checkpoints", [("size", .int), ("note", .text)]),
        ("witness_sizes", [("witness", .text), ("size", .int)]),
    ]

    /// Rows per INSERT: one round trip for many rows.
    static let batch = 200

    public static func copy(from source: DatabaseLocation, to target: DatabaseLocation, logKey: SigningKey,
                            progress: (String) -> Void = { _ in }) throws -> DatabaseCopyReport {
        guard source != target else { throw TributaryError("server.invalid_config", "the source and the target are the same database") }
        // Opening checks the source's log against its checkpoints, and brings its schema up to date.
        _ = try MetadataStore(database: source, logKey: logKey, anchorDigest: nil)
        let src = try SQLDatabases.open(source)
        let dst = try SQLDatabases.open(target)
        try Schema.migrate(dst)
        for t in tables {
            guard try dst.first("SELECT 1 FROM \(t.name) LIMIT 1", [], { _ in true }) != true else { throw TributaryError("server.target_not_empty", "\(target) already holds rows in \(t.name): migrate into an empty database") }
        }
        var counts = [(table: String, count: Int)]()
        try dst.transaction {
            try src.snapshot {
                for t in tables {
                    let names = t.columns.map(\.0).joined(separator: ", ")
                    let row = "(" + Array(repeating: "?", count: t.columns.count).joined(separator: ", ") + ")"
                    var pending = [SQLValue](), inBatch = 0, total = 0
                    func flush() throws {
                        guard inBatch > 0 else { return }
                        try dst.run("INSERT INTO \(t.name) (\(names)) VALUES " + Array(repeating: row, count: inBatch).joined(separator: ", "), pending)
                        total += inBatch
                        pending.removeAll(keepingCapacity: true)
                        inBatch = 0
                    }
                    try src.each("SELECT \(names) FROM \(t.name)", []) { r in
                        for (i, (_, type)) in t.columns.enumerated() {
                            let c = Int32(i)
                            if r.isNull(c) { pending.append(.null); continue }
                            switch type {
                            case .int: pending.append(.int(r.int(c)))
                            case .double: pending.append(.double(r.double(c)))
                            case .text: pending.append(.text(r.text(c)))
                            case .blob: pending.append(.blob(r.blob(c)))
                            }
                        }
                        inBatch += 1
                        if inBatch == batch { try flush() }
                    }
                    try flush()
                    counts.append((t.name, total))
                    progress("\(t.name): \(total) rows")
                }
            }
        }
        // The target, opened as a server opens it: its log checked against its signed checkpoints.
        _ = try MetadataStore(database: target, logKey: logKey, anchorDigest: nil)
        let srcCheckpoint = try src.first("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.text(1)) })
        let dstCheckpoint = try dst.first("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.text(1)) })
        guard srcCheckpoint?.0 == dstCheckpoint?.0, srcCheckpoint?.1 == dstCheckpoint?.1 else {
            throw StoreError.corrupt("after the copy the target's latest checkpoint differs from the source's")
        }
        for (table, count) in counts {
            let n = try dst.first("SELECT COUNT(*) FROM \(table)", [], { Int($0.int(0)) }) ?? -1
            guard n == count else { throw StoreError.corrupt("after the copy \(table) holds \(n) rows, not \(count)") }
        }
        return DatabaseCopyReport(rows: counts, checkpointSize: srcCheckpoint?.0 ?? 0, checkpoint: srcCheckpoint?.1 ?? "")
    }
}
