import TributaryCore
import TributaryLog

extension MetadataStore {
    /// The checkpoint the world is shown (`/checkpoint`, the tiles): with witnesses, the latest one
    /// that met the witness policy, cosignatures on it; without, the latest signed one.
    public func publishedCheckpoint() throws -> (size: UInt64, note: String)? {
        guard requiresWitnesses else { return try checkpoint() }
        return try db.first("SELECT size, note FROM witnessed_checkpoints ORDER BY size DESC LIMIT 1", [], { (UInt64($0.int(0)), $0.text(1)) })
    }

    /// Records a cosigned checkpoint; only one whose text is the log's own checkpoint at that size,
    /// and only growing.
    func recordWitnessed(size: UInt64, note: String) throws {
        try db.transaction {
            guard let own = try db.first("SELECT note FROM checkpoints WHERE size = ?", [.int(Int64(size))], { $0.text(0) }),
                  try SignedNote.parse(Array(own.utf8)).text == SignedNote.parse(Array(note.utf8)).text else {
                throw StoreError.corrupt("a cosigned checkpoint of size \(size) is not the log's checkpoint of that size")
            }
            let latest = try db.first("SELECT COALESCE(MAX(size), 0) FROM witnessed_checkpoints", [], { UInt64($0.int(0)) }) ?? 0
            guard size > latest else { return }
            try db.run("INSERT INTO witnessed_checkpoints (size, note) VALUES (?, ?)", [.int(Int64(size)), .text(note)])
        }
    }

    /// The largest size the witness with cosigner key `witness` has cosigned for this log, if any.
    func witnessSize(_ witness: String) throws -> UInt64? {
        try db.first("SELECT size FROM witness_sizes WHERE witness = ?", [.text(witness)], { UInt64($0.int(0)) })
    }

    func recordWitnessSize(_ witness: String, _ size: UInt64) throws {
        try db.run("INSERT INTO witness_sizes (witness, size) VALUES (?, ?) ON CONFLICT (witness) DO UPDATE SET size = CASE WHEN excluded.size > witness_sizes.size THEN excluded.size ELSE witness_sizes.size END",
                   [.text(witness), .int(Int64(size))])
    }
}
