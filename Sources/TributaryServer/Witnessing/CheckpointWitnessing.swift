import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TributaryCore
import TributaryLog

/// Asks the configured witnesses to cosign the log's latest checkpoint (C2SP tlog-witness) and
/// publishes it once the quorum has. Each witness is sent the consistency proof from the size it
/// last cosigned; a 409 tells that size when this server does not know it. A witness that answers
/// with a size below one it cosigned before has lost its state, and its word no longer counts.
actor CheckpointWitnessing {
    let store: MetadataStore
    let endpoints: [WitnessEndpoint]
    let policy: WitnessPolicy
    let logger: Logger
    let timeout: TimeAmount
    private var chain: Task<Void, Never>?
    /// Sizes learned from 409 answers (not cosigned: not stored).
    private var claimed = [String: UInt64]()

    init(store: MetadataStore, endpoints: [WitnessEndpoint], quorum: Int, logger: Logger, timeout: TimeAmount = .seconds(10)) throws {
        self.store = store
        self.endpoints = endpoints
        policy = try WitnessPolicy(witnesses: endpoints.map(\.key), quorum: quorum)
        self.logger = logger
        self.timeout = timeout
    }

    /// Publishes the latest checkpoint if it is not yet. Attempts run one after another, each
    /// queued behind the last (one that finds the latest checkpoint published returns at once).
    /// Returns the published checkpoint afterwards.
    @discardableResult
    func publish() async -> (size: UInt64, note: String)? {
        let previous = chain
        let t = Task { await previous?.value; await self.attempt() }
        chain = t
        await t.value
        return try? await store.publishedCheckpoint()
    }

    private func attempt() async {
        do {
            guard let latest = try await store.checkpoint() else { return }
            if let published = try await store.publishedCheckpoint(), published.size >= latest.size { return }
            let note = try SignedNote.parse(Array(latest.note.utf8))
            let cp = try Checkpoint.parse(text: note.text)
            let cosignatures = await withTaskGroup(of: SignedNote.Signature?.self) { group in
                for w in endpoints {
                    group.addTask {
                        do { return try await self.cosign(w, note: latest.note, checkpoint: cp) } catch {
                            self.logger.warning("witness refused or unreachable", metadata: ["witness": "\(w.key.name)", "size": "\(cp.size)",
                                                                                            "error": "\((error as? CodedError)?.message ?? "\(error)")"])
                            return nil
                        }
                    }
                }
                var out = [SignedNote.Signature]()
                for await s in group { if let s { out.append(s) } }
                return out
            }
            let witnessed = SignedNote(text: note.text, signatures: note.signatures + cosignatures)
            _ = try policy.check(witnessed)
            try await store.recordWitnessed(size: cp.size, note: witnessed.serialized)
        } catch {
            logger.warning("checkpoint not published", metadata: ["error": "\((error as? CodedError)?.message ?? "\(error)")"])
        }
    }

    /// One witness's cosignature on `checkpoint`, verified.
    func cosign(_ w: WitnessEndpoint, note: String, checkpoint cp: Checkpoint) async throws -> SignedNote.Signature {
        let cosigned = try await store.witnessSize(w.key.name)
        for _ in 0..<2 {
            let old = min(claimed[w.key.name] ?? cosigned ?? 0, cp.size)
            let proof = old == 0 ? [] : try await store.consistencyProof(first: old, second: cp.size)
            var request = HTTPClientRequest(url: w.url + "/add-checkpoint")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            request.body = .bytes(AddCheckpointRequest(oldSize: old, proof: proof, checkpoint: Array(note.utf8)).body)
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let body = Array(buffer: try await response.body.collect(upTo: 64 * 1024))
            switch response.status.code {
            case 200:
                let lines = try AddCheckpointRequest.parseCosignatures(body)
                let text = try SignedNote.parse(Array(note.utf8)).text
                for line in lines where line.name == w.key.name && line.keyID == w.key.keyID {
                    guard try Cosignature.verify(SignedNote(text: text, signatures: [line]), keys: [w.key]).count == 1 else { continue }
                    try await store.recordWitnessSize(w.key.name, cp.size)
                    claimed[w.key.name] = nil
                    return line
                }
                throw WitnessError.badResponse("\(w.key.name) answered without a cosignature by its key")
            case 409:
                guard let text = String(validating: body, as: UTF8.self), text.hasSuffix("\n"),
                      let size = AddCheckpointRequest.canonicalSize(String(text.dropLast())) else {
                    throw WitnessError.badResponse("\(w.key.name) answered 409 without its size")
                }
                if let cosigned, size < cosigned {
                    throw WitnessError.stateLost("\(w.key.name) says it holds size \(size), but it cosigned size \(cosigned) of this log before: it lost its state")
                }
                guard size < cp.size || (size == cp.size && old != size) else {
                    throw WitnessError.conflict(size: size, "\(w.key.name) holds a tree of size \(size), which this log's checkpoint of size \(cp.size) does not extend")
                }
                claimed[w.key.name] = size
            default:
                throw WitnessError.badResponse("\(w.key.name) answered \(response.status.code): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
        }
        throw WitnessError.badResponse("\(w.key.name) kept answering 409")
    }
}
