import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// What a submitter checks of the server's answer before believing it: the checkpoint carries the
/// pinned log key's signature, the entry at the receipt's index is a contribution entry holding this
/// bundle's own envelope byte for byte, its leaf hash is the receipt's, and the inclusion proof leads
/// from it to the checkpoint's root.
public struct ReceiptCheck: Sendable {
    public let index: UInt64
    public let size: UInt64
    /// With a witness policy: the checkpoint's time (the quorum-th newest cosignature), Unix seconds.
    public var checkpointTime: UInt64?

    /// `witnesses`: the checkpoint must also carry a quorum of their cosignatures (the contribution is
    /// logged either way; an unwitnessed receipt only proves it to this submitter).
    public static func run(receipt: ContributionReceipt, envelope: [UInt8], client: TributaryClient, logKey: VerifierKey,
                           witnesses: WitnessPolicy? = nil) async throws -> ReceiptCheck {
        let index = receipt.logIndex, note = receipt.checkpoint, leaf = receipt.leafHash
        let cp = try Checkpoint.verify(note: Array(note.utf8), key: logKey)
        let time = try witnesses.map { try $0.check(try SignedNote.parse(Array(note.utf8))).time }
        guard index < cp.size else { throw TributaryError("client.bad_receipt", "log index \(index) is beyond the signed checkpoint of size \(cp.size)") }
        let entries = try await client.entries(start: index, end: index + 1)
        guard entries.count == 1, MerkleHash.leaf(entries[0]) == leaf else {
            throw TributaryError("client.bad_receipt", "the log entry at index \(index) does not have the receipt's leaf hash")
        }
        guard case let .contribution(_, _, _, logged, _) = try LogEntry.parse(entries[0]), logged == envelope else {
            throw TributaryError("client.bad_receipt", "the log entry at index \(index) is not this bundle's contribution")
        }
        guard ProofVerification.inclusion(index: index, size: cp.size, leafHash: leaf, proof: receipt.inclusionProof, root: cp.root) else {
            throw TributaryError("client.bad_receipt", "the inclusion proof does not lead to the signed checkpoint's root")
        }
        return ReceiptCheck(index: index, size: cp.size, checkpointTime: time)
    }
}
