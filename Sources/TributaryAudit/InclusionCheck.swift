import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// What a contributor learns about its own contribution from `verify-inclusion`.
public struct InclusionResult: Sendable, Equatable {
    public let logIndex: UInt64
    public let treeSize: UInt64
    public let revoked: Bool
    /// The current release holding the contribution, if any.
    public let release: Int?
}

/// A contributor's check that its statement is logged: the log entry holds exactly its statement,
/// and an RFC 9162 inclusion proof leads from that entry to a checkpoint signed by the pinned key.
public enum InclusionCheck {
    public static func run(client: TributaryClient, statement: [UInt8], logKey: VerifierKey) async throws -> InclusionResult {
        let sha = Hex.encode(SHA256.digest(statement))
        let record = try await client.contribution(statementSHA256: sha)
        let index = record.logIndex
        let cp = try Checkpoint.verify(note: try await client.checkpoint(), key: logKey)
        guard index < cp.size else {
            throw TributaryError("inclusion.beyond_checkpoint", "log index \(index) is beyond the signed checkpoint of size \(cp.size)")
        }
        let got = try await client.entries(start: index, end: index + 1)
        guard got.count == 1, let entry = got.first else {
            throw TributaryError("inclusion.bad_response", "the server returned \(got.count) log entries for index \(index), not 1")
        }
        guard case let .contribution(_, _, _, envelope, _) = try LogEntry.parse(entry), try DSSEEnvelope.parse(envelope).payload == statement else {
            throw TributaryError("inclusion.mismatch", "log entry \(index) is not this bundle's statement")
        }
        let proof = try await client.inclusionProof(index: index, size: cp.size)
        guard ProofVerification.inclusion(index: index, size: cp.size, leafHash: MerkleHash.leaf(entry), proof: proof, root: cp.root) else {
            throw TributaryError("inclusion.bad_proof", "the inclusion proof for entry \(index) does not lead to the signed checkpoint")
        }
        var release: Int?
        if let latest = try? await client.latestRelease(),
           latest.manifest.experts.contains(where: { $0.contribution == index && $0.statementSHA256 == sha }) {
            release = latest.release
        }
        return InclusionResult(logIndex: index, treeSize: cp.size, revoked: record.revokedAt != nil, release: release)
    }
}
