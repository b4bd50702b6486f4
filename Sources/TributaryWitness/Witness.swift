import Foundation
import TributaryCore
import TributaryLog

/// A C2SP tlog-witness: checks each submitted checkpoint against the latest one it cosigned for that
/// log and cosigns it only if it extends that one (or is that one again). The actor runs one request at a time, so the
/// check against the stored size and the write of the new one are a single step (the race the spec
/// warns of cannot happen).
public actor Witness {
    let key: SigningKey
    /// Origin (its bytes) → the log's verifier keys.
    let logs: [[UInt8]: [VerifierKey]]
    let state: WitnessState
    let clock: @Sendable () -> UInt64

    public init(key: SigningKey, logs: [VerifierKey], state: WitnessState,
                clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        self.key = key
        self.logs = Dictionary(grouping: logs, by: \.name.identityBytes)
        self.state = state
        self.clock = clock
    }

    public nonisolated var cosignerKey: CosignerKey { state.key }

    /// The response body of a cosigned checkpoint: its cosignature line.
    public func addCheckpoint(_ body: [UInt8]) throws -> [UInt8] {
        let request = try AddCheckpointRequest.parse(body)
        let note: SignedNote, cp: Checkpoint
        do {
            note = try SignedNote.parse(request.checkpoint)
            cp = try Checkpoint.parse(text: note.text)
        } catch { throw WitnessError.badRequest("the checkpoint does not parse: \((error as? CodedError)?.message ?? "\(error)")") }
        guard let keys = logs[cp.origin.identityBytes] else { throw WitnessError.unknownLog("this witness does not follow the log \(cp.origin)") }
        do { _ = try note.verify(keys: keys) } catch {
            throw WitnessError.forbidden("the checkpoint carries no valid signature by the log's key: \(error.message)")
        }
        guard request.oldSize <= cp.size else { throw WitnessError.badRequest("old size \(request.oldSize) is above the checkpoint's size \(cp.size)") }
        let latest = try state.latest(cp.origin)
        let held = latest?.size ?? 0
        guard request.oldSize == held else { throw WitnessError.conflict(size: held, "old size \(request.oldSize) is not the latest size this witness cosigned") }
        if let latest, latest.size == cp.size {
            guard latest.root == cp.root else { throw WitnessError.conflict(size: held, "a different root for size \(cp.size) than the one this witness cosigned") }
            guard request.proof.isEmpty else { throw WitnessError.badProof("a consistency proof from a size to itself is empty") }
        } else if let latest {
            guard ProofVerification.consistency(first: latest.size, second: cp.size, firstRoot: latest.root, secondRoot: cp.root, proof: request.proof) else {
                throw WitnessError.badProof("the consistency proof from size \(latest.size) to \(cp.size) does not verify")
            }
        } else {
            guard request.proof.isEmpty else { throw WitnessError.badProof("a consistency proof from size 0 must be empty") }
        }
        if latest?.size != cp.size { try state.record(Checkpoint(origin: cp.origin, size: cp.size, root: cp.root)) }
        return Array(Cosignature.line(Cosignature.sign(text: note.text, time: clock(), key: key)).utf8)
    }
}
