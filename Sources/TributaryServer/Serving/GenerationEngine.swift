import Foundation
import TributaryModel

/// `/v1/generate` requests decoded together: each takes a slot of one `GenerationSlots` as soon as one
/// is free — also while others are mid-generation — and every step feeds all of them in one pass, so
/// each weight is read once per step for every request (decoding is bound by reading the weights).
/// A request leaves as soon as its own generation ends. The loop runs on one of the bulk lane's
/// threads, its products split across the cores, and gives the thread back every `stepsPerTurn`
/// steps (queued behind the lane's other work) so uploads and scoring never wait for generation
/// traffic to stop. A prompt is tokenized by the loop, not by the request's HTTP task.
///
/// Slots serve one model at a time (a release, with the experts it may use): a request for another
/// waits until the slots drain. At most `maxWaiting` requests wait for a slot; the next gets 503
/// `api.busy` at once. A request whose client has gone leaves its slot at the next step.
final class GenerationEngine: @unchecked Sendable {
    struct Key: Equatable {
        let release: Int
        let allowed: ExpertSet
    }

    struct Request {
        /// The text a document begins with (`Tokenizer.documentPrefix` frames it).
        let text: [UInt8]
        let settings: GenerationSlots.Settings
        let model: Model
        let key: Key
        let abandoned: (@Sendable () -> Bool)?
        let answer: CheckedContinuation<[Int32], Error>
    }

    /// Slots decoded together, and positions each one's cache holds (a longer context keeps its last
    /// half and goes on): 4 × 2,048 on SmolLM2 is the 377 MB two requests' caches of 4,096 took before.
    static let slots = 4
    static let capacity = 2048
    static let stepsPerTurn = 32

    private let pool: ComputePool
    private let line: WaitingLine<Request>
    // Touched only by the loop, which runs on one thread at a time.
    private var current: (slots: GenerationSlots, key: Key)?
    private var owners = [Int: Request]()

    init(pool: ComputePool, maxWaiting: Int) {
        self.pool = pool
        line = WaitingLine(limit: maxWaiting)
    }

    func generate(text: [UInt8], settings: GenerationSlots.Settings, model: Model, key: Key,
                  abandoned: (@Sendable () -> Bool)?) async throws -> [Int32] {
        try await line.enter(busy: "\(line.limit) generation requests are waiting for a slot, the most this server queues", {
            Request(text: text, settings: settings, model: model, key: key, abandoned: abandoned, answer: $0)
        }, work: { await self.drive() })
    }

    /// Turns of the loop on the bulk lane until no request is running or waiting.
    private func drive() async {
        while (try? await pool.run(.bulk, ownWork: true, { self.loop() })) == true {}
    }

    /// Admits waiting requests into free slots, steps, answers those that ended, for at most
    /// `stepsPerTurn` steps; returns whether requests remain (false: the line's worker stopped).
    private func loop() -> Bool {
        for _ in 0..<Self.stepsPerTurn {
            var admit = [Request]()
            let goOn = line.take { waiting -> (taken: Bool, stop: Bool) in
                // Drained: the slots may serve another model now.
                if owners.isEmpty, let first = waiting.first, current?.key != first.key { current = nil }
                let key = current?.key ?? waiting.first?.key
                var free = Self.slots - owners.count, i = 0
                while free > 0 && i < waiting.count {
                    if waiting[i].key == key {
                        admit.append(waiting.remove(at: i))
                        free -= 1
                    } else {
                        i += 1
                    }
                }
                let stop = owners.isEmpty && admit.isEmpty
                return (!stop, stop)
            }
            guard goOn else { return false }
            if current == nil, let first = admit.first {
                let capacity = min(Self.capacity, first.model.config.contextLength)
                current = (GenerationSlots(model: first.model, allowed: first.key.allowed, slots: Self.slots, capacity: capacity), first.key)
            }
            guard let g = current?.slots else { continue }
            for q in admit {
                if q.abandoned?() == true {
                    q.answer.resume(throwing: ServerError.clientGone)
                    continue
                }
                let s = g.freeSlot!
                g.start(slot: s, prompt: q.model.tokenizer.documentPrefix(q.text), settings: q.settings)
                owners[s] = q
            }
            for (s, q) in owners where q.abandoned?() == true {
                g.cancel(slot: s)
                owners[s] = nil
                q.answer.resume(throwing: ServerError.clientGone)
            }
            for (s, tokens) in g.step() { owners.removeValue(forKey: s)?.answer.resume(returning: tokens) }
        }
        return true
    }
}
