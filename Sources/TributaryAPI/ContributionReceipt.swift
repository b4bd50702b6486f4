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
            ("inclusionProof", .base64Array(inclusionProof)),
        ])
    }

    /// Reads a receipt; unknown fields are ignored (a newer server may add some), missing or
    /// mistyped ones are `client.bad_response`.
    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "server's receipt")
        let statement = try r.string("statementSHA256")
        guard Hex.isLowerHex(statement, byteCount: 32) else { throw r.bad("statementSHA256") }
        self.init(logIndex: try r.uint64("logIndex"), leafHash: try r.hash("leafHash"), statementSHA256: statement, treeSize: try r.uint64("treeSize"),
                  checkpoint: try r.string("checkpoint"), inclusionProof: try r.hashes("inclusionProof"))
    }
}
