import TributaryCore

/// The answer to `POST /v1/contributions` (SPEC §7): where the contribution was logged, the signed
/// checkpoint that includes it and the inclusion proof. Written by the server, read by every client,
/// so the field names live here only. Reading checks shapes, not signatures: `ReceiptCheck` decides
/// whether to believe it.
public struct ContributionReceipt: Sendable, Equatable {
    public let logIndex: UInt64
    /// RFC 9162 leaf hash of the log entry.
    public let leafHash: [UInt8]
    public let statementSHA256: String
    public let treeSize: UInt64
    /// The signed note of a checkpoint of size `treeSize` (cosigned when witnesses answered).
    public let checkpoint: String
    public let inclusionProof: [[UInt8]]

    public init(logIndex: UInt64, leafHash: [UInt8], statementSHA256: String, treeSize: UInt64, checkpoint: String, inclusionProof: [[UInt8]]) {
        self.logIndex = logIndex
        self.leafHash = leafHash
        self.statementSHA256 = statementSHA256
        self.treeSize = treeSize
        self.checkpoint = checkpoint
        self.inclusionProof = inclusionProof
    }

    public var json: JSONValue {
        .object([
            ("logIndex", .uint64(logIndex)),
            ("leafHash", .string(Base64.encode(leafHash))),
            ("statementSHA256", .string(statementSHA256)),
            ("treeSize", .uint64(treeSize)),
            ("checkpoint", .string(checkpoint)),
            ("inclusionProof", .array(inclusionProof.map { .string(Base64.encode($0)) })),
        ])
    }

    /// Reads a receipt; unknown fields are ignored (a newer server may add some), missing or
    /// mistyped ones are `client.bad_response`.
    public init(json: JSONValue) throws {
        func bad(_ field: String) -> TributaryError { TributaryError("client.bad_response", "the server's receipt has no valid \(field)") }
        func hash(_ v: JSONValue?, _ field: String) throws -> [UInt8] {
            guard let s = v?.stringValue, let b = Base64.decodeStandard(s), b.count == 32 else { throw bad(field) }
            return b
        }
        guard let index = json["logIndex"]?.uint64Value else { throw bad("logIndex") }
        guard let size = json["treeSize"]?.uint64Value else { throw bad("treeSize") }
        guard let statement = json["statementSHA256"]?.stringValue, Hex.isLowerHex(statement, byteCount: 32) else { throw bad("statementSHA256") }
        guard let note = json["checkpoint"]?.stringValue else { throw bad("checkpoint") }
        guard case let .array(items)? = json["inclusionProof"] else { throw bad("inclusionProof") }
        self.init(logIndex: index, leafHash: try hash(json["leafHash"], "leafHash"), statementSHA256: statement, treeSize: size,
                  checkpoint: note, inclusionProof: try items.map { try hash($0, "inclusionProof") })
    }
}
