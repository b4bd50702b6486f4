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
    let executor: (any TaskExecutor)?
    /// The attempt running, and at most one queued behind it that every later caller joins.
    private var running: Task<Void, Never>?
    private var queued: Task<Void, Never>?
    /// Sizes learned from 409 answers (not cosigned: not stored).
    private var claimed = [String: UInt64]()

    init(store: MetadataStore, endpoints: [WitnessEndpoint], quorum: Int, logger: Logger, executor: (any TaskExecutor)?,
         timeout: TimeAmount = .seconds(5)) throws {
        self.executor = executor
        self.store = store
        self.endpoints = endpoints
        policy = try WitnessPolicy(witnesses: endpoints.map(\.key), quorum: quorum)
        self.logger = logger
        self.timeout = timeout
    }

    /// Publishes the latest checkpoint if it is not yet, and returns the published one. Attempts
    /// run one at a time; a caller arriving during one joins the single attempt queued behind it
    /// (which reads the latest checkpoint when it starts), so waiting never piles up.
    @discardableResult
    func publish() async -> (size: UInt64, note: String)? {
        if let queued {
            await queued.value
        } else {
            let previous = running
            let t = Task(executorPreference: executor) {
                await previous?.value
                await self.begin()
                await self.attempt()
            }
            queued = t
            await t.value
        }
        return try? await store.publishedCheckpoint()
    }

    private func begin() {
        running = queued
        queued = nil
    }

    private func attempt() async {
        do {
            guard let latest = try await store.checkpoint() else { return }
            if let published = try await store.publishedCheckpoint(), published.size >= latest.size { return }
            let note = try SignedNote.parse(Array(latest.note.utf8))
            let cp = try Checkpoint.parse(text: note.text)
            // Asked at once; done as soon as the quorum has answered (the others catch up next time,
            // from the size they hold), so one dead witness does not hold up every append.
            let quorum = policy.quorum
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
                for await s in group {
                    if let s { out.append(s) }
                    if out.count >= quorum { group.cancelAll(); break }
                }
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
        // By the whole key: a witness re-keyed after losing its state starts afresh under its old name.
        let cosigned = try await store.witnessSize(w.key.encoded)
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
                for line in lines where line.name.sameBytes(w.key.name) && line.keyID == w.key.keyID {
                    guard try Cosignature.verify(SignedNote(text: text, signatures: [line]), keys: [w.key]).count == 1 else { continue }
                    try await store.recordWitnessSize(w.key.encoded, cp.size)
                    claimed[w.key.name] = nil
                    return line
                }
                throw WitnessError.badResponse("\(w.key.name) answered without a cosignature by its key")
            case 409:
                guard let text = String(validating: body, as: UTF8.self), text.hasSuffix("\n"),
                      let size = Checkpoint.canonicalSize(text.dropLast()) else {
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

/// Long-running tasks a server starts and cancels when it stops.
final class BackgroundTasks: @unchecked Sendable {
    private var tasks = [Task<Void, Never>]()
    private let lock = NSLock()
    private let executor: (any TaskExecutor)?

    init(executor: (any TaskExecutor)?) { self.executor = executor }

    func start(_ body: @escaping @Sendable () async -> Void) {
        let t = Task(executorPreference: executor) { await body() }
        lock.withLock { tasks.append(t) }
    }

    func cancelAll() {
        for t in lock.withLock({ tasks }) { t.cancel() }
    }
}
