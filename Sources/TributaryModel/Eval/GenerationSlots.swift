/// Several generations sharing one decoder, each in a slot of its own: a prompt enters a free slot
/// (fed in one pass), every `step` samples the next token of every busy slot and feeds them all in
/// one pass (each weight read once for all of them), and a generation that ends — at a stop token or
/// its token budget — frees its slot for the next prompt while the others go on. `Generator` runs a
/// fixed set of prompts through it; the server admits requests into free slots as they arrive.
public final class GenerationSlots: @unchecked Sendable {
    public struct Settings: Sendable {
        public var maxTokens: Int
        public var temperature: Float
        public var topK: Int
        public var seed: UInt64
        /// Tokens that end the generation (not included in it).
        public var stop: Set<Int32>
        public init(maxTokens: Int, temperature: Float, topK: Int, seed: UInt64, stop: Set<Int32>) {
            self.maxTokens = maxTokens
            self.temperature = temperature
            self.topK = topK
            self.seed = seed
            self.stop = stop
        }
    }

    struct Generation {
        var context: [Int32]
        var out: [Int32] = []
        var rng: RNG
        let settings: Settings
    }

    public let decoder: Decoder
    private var generations: [Generation?]

    /// `capacity`: positions each slot's cache holds; a longer context keeps its last half and goes on.
    public init(model: Model, allowed: ExpertSet = .all, slots: Int, capacity: Int) {
        decoder = Decoder(model: model, allowed: allowed, sequences: slots, capacity: capacity)
        generations = [Generation?](repeating: nil, count: slots)
    }

    public var slots: Int { generations.count }
    public var freeSlot: Int? { generations.firstIndex { $0 == nil } }
    public var busySlots: Int { generations.lazy.filter { $0 != nil }.count }

    /// Starts `prompt` (token ids; empty: the beginning-of-sequence token) in a free slot; its first
    /// token is sampled by the next `step`.
    public func start(slot s: Int, prompt: [Int32], settings: Settings) {
        precondition(generations[s] == nil, "slot \(s) is busy")
        let context = Self.context(prompt, model: decoder.model, limit: decoder.capacity)
        // A generation of no tokens still holds its slot until the next step reports it.
        if settings.maxTokens > 0 {
            decoder.reset(s)
            decoder.prefill(s, context)
        }
        generations[s] = Generation(context: context, rng: RNG(seed: settings.seed), settings: settings)
    }

    /// What a prompt starts from: the beginning-of-sequence token for an empty one, the last half of
    /// `limit` positions for one longer than that.
    static func context(_ prompt: [Int32], model: Model, limit: Int) -> [Int32] {
        prompt.isEmpty ? [Int32(model.config.bosTokenID)] : prompt.count > limit ? Array(prompt.suffix(limit / 2)) : prompt
    }

    /// Drops a slot's generation (its client left).
    public func cancel(slot s: Int) { generations[s] = nil }

    /// One token for every busy slot; returns the generations that ended, with their tokens.
    public func step() -> [(slot: Int, tokens: [Int32])] {
        var ended = [(slot: Int, tokens: [Int32])]()
        let V = decoder.model.config.vocabSize
        var rows = [(sequence: Int, token: Int32)]()
        for s in generations.indices {
            guard var g = generations[s] else { continue }
            guard g.settings.maxTokens > 0 else {
                ended.append((s, []))
                generations[s] = nil
                continue
            }
            let next = Int32(Generator.sample(UnsafeBufferPointer(start: decoder.sequenceLogits(s), count: V), temperature: g.settings.temperature,
                                              topK: g.settings.topK, rng: &g.rng))
            if g.settings.stop.contains(next) {
                ended.append((s, g.out))
                generations[s] = nil
                continue
            }
            g.out.append(next)
            g.context.append(next)
            if g.out.count == g.settings.maxTokens {
                ended.append((s, g.out))
                generations[s] = nil
                continue
            }
            if decoder.isFull(s) {
                g.context = Array(g.context.suffix(decoder.capacity / 2))
                decoder.reset(s)
                decoder.prefill(s, g.context)
            } else {
                rows.append((s, next))
            }
            generations[s] = g
        }
        if !rows.isEmpty { decoder.feed(rows) }
        return ended
    }
}
