/// Sampling from a model, so people can see what it learned.
public enum Generator {
    /// Continues `prompt` (token ids) by up to `maxTokens` tokens, stopping after any of `stop`
    /// (not included): temperature, then top-k. Temperature 0 picks the most likely token. Runs on a
    /// key/value cache; when the context fills, the last half of it is fed again and generation goes on.
    public static func generate(model: Model, prompt: [Int32], maxTokens: Int, temperature: Float = 0.8, topK: Int = 40,
                                seed: UInt64 = 1, stop: Set<Int32> = [], allowed: ExpertSet = .all) -> [Int32] {
        generate(model: model, prompts: [prompt], maxTokens: maxTokens, temperature: temperature, topK: topK, seeds: [seed],
                 stop: stop, allowed: allowed)[0]
    }

    /// `generate` for several prompts decoded together (one pass per step feeds every unfinished
    /// sequence, so each weight is read once for all of them); prompt i samples with `seeds[i]`.
    /// Each continuation is what `generate` gives its prompt alone, up to float rounding (a product
    /// of several rows groups its sums differently from one of a single row).
    public static func generate(model: Model, prompts: [[Int32]], maxTokens: Int, temperature: Float = 0.8, topK: Int = 40,
                                seeds: [UInt64], stop: Set<Int32> = [], allowed: ExpertSet = .all) -> [[Int32]] {
        precondition(seeds.count == prompts.count, "one seed per prompt")
        guard !prompts.isEmpty else { return [] }
        let c = model.config, limit = min(c.contextLength, 4096)
        let contexts = prompts.map { GenerationSlots.context($0, model: model, limit: limit) }
        let capacity = min(limit, contexts.map(\.count).max()! + maxTokens)
        // Up to 16 sequences a pass (the gain flattens once the weights' reading is shared), fewer
        // when their key/value caches would pass 512 MiB.
        let cacheBytes = 2 * c.numLayers * capacity * c.kvDim * 4
        let group = max(1, min(16, (512 << 20) / max(cacheBytes, 1)))
        return stride(from: 0, to: prompts.count, by: group).flatMap { i in
            let j = min(prompts.count, i + group)
            return generateGroup(model: model, contexts: Array(contexts[i..<j]), capacity: capacity, maxTokens: maxTokens,
                                 temperature: temperature, topK: topK, seeds: Array(seeds[i..<j]), stop: stop, allowed: allowed)
        }
    }

    private static func generateGroup(model: Model, contexts: [[Int32]], capacity: Int, maxTokens: Int, temperature: Float, topK: Int,
                                      seeds: [UInt64], stop: Set<Int32>, allowed: ExpertSet) -> [[Int32]] {
        let slots = GenerationSlots(model: model, allowed: allowed, slots: contexts.count, capacity: capacity)
        for (i, context) in contexts.enumerated() {
            slots.start(slot: i, prompt: context, settings: .init(maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seeds[i], stop: stop))
        }
        var outs = [[Int32]](repeating: [], count: contexts.count), ended = 0
        while ended < contexts.count {
            for (slot, tokens) in slots.step() {
                outs[slot] = tokens
                ended += 1
            }
        }
        return outs
    }

    /// Continues `text` as the beginning of a document (`Tokenizer.documentPrefix`: the framing the
    /// model is evaluated and trained with) until the document ends or `maxTokens`; returns the
    /// continuation's bytes. The server's `/v1/generate`, `tributary generate --raw`, the demo's
    /// samples and router tuning's proxy text all generate through here, on byte and BPE models alike.
    public static func continuation(model: Model, text: some Collection<UInt8>, maxTokens: Int, temperature: Float = 0.8,
                                    topK: Int = 40, seed: UInt64 = 1, allowed: ExpertSet = .all) -> [UInt8] {
        model.tokenizer.decode(continuationIDs(model: model, text: text, maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seed,
                                               allowed: allowed))
    }

    /// `continuation`'s token ids (what router tuning trains on, without decoding and encoding again).
    public static func continuationIDs(model: Model, text: some Collection<UInt8>, maxTokens: Int, temperature: Float = 0.8,
                                       topK: Int = 40, seed: UInt64 = 1, allowed: ExpertSet = .all) -> [Int32] {
        let t = model.tokenizer
        return generate(model: model, prompt: t.documentPrefix(text), maxTokens: maxTokens, temperature: temperature,
                        topK: topK, seed: seed, stop: [t.documentEnd], allowed: allowed)
    }

    /// `continuationIDs` of several texts decoded together (text i with `seeds[i]`).
    public static func continuationIDs(model: Model, texts: [[UInt8]], maxTokens: Int, temperature: Float = 0.8,
                                       topK: Int = 40, seeds: [UInt64], allowed: ExpertSet = .all) -> [[Int32]] {
        let t = model.tokenizer
        return generate(model: model, prompts: texts.map { t.documentPrefix($0) }, maxTokens: maxTokens, temperature: temperature,
                        topK: topK, seeds: seeds, stop: [t.documentEnd], allowed: allowed)
    }

    /// A chat model's answer to one user message (its template's framing; stops at the end of the
    /// turn or of the document).
    public static func answer(model: Model, template: ChatTemplate, user: String, maxTokens: Int, temperature: Float = 0.8,
                              topK: Int = 40, seed: UInt64 = 1) -> [UInt8] {
        model.tokenizer.decode(generate(model: model, prompt: template.prompt(user: user), maxTokens: maxTokens, temperature: temperature,
                                        topK: topK, seed: seed, stop: [model.tokenizer.documentEnd, template.end]))
    }

    static func sample(_ logits: UnsafeBufferPointer<Float>, temperature: Float, topK: Int, rng: inout RNG) -> Int {
        if temperature <= 0 { return logits.indices.max { logits[$0] < logits[$1] }! }
        // The k largest without sorting the whole vocabulary.
        var ranked = [Int]()
        let k = max(1, min(topK, logits.count))
        ranked.reserveCapacity(k + 1)
        for i in logits.indices {
            guard ranked.count < k || logits[i] > logits[ranked[k - 1]] else { continue }
            var j = ranked.count
            while j > 0 && logits[ranked[j - 1]] < logits[i] { j -= 1 }
            ranked.insert(i, at: j)
            if ranked.count > k { ranked.removeLast() }
        }
        let m = logits[ranked[0]]
        let weights = ranked.map { Double(FastMath.exp((logits[$0] - m) / temperature)) }
        var u = rng.uniformDouble() * weights.reduce(0, +)
        for (i, w) in zip(ranked, weights) {
            u -= w
            if u <= 0 { return i }
        }
        return ranked.last!
    }
}
