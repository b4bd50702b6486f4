/// Sampling from a model, so people can see what it learned.
public enum Generator {
    /// Continues `prompt` (token ids) by up to `maxTokens` tokens, stopping after any of `stop`
    /// (not included): temperature, then top-k. Temperature 0 picks the most likely token. Runs on a
    /// key/value cache; when the context fills, the last half of it is fed again and generation goes on.
    public static func generate(model: Model, prompt: [Int32], maxTokens: Int, temperature: Float = 0.8, topK: Int = 40,
                                seed: UInt64 = 1, stop: Set<Int32> = [], allowed: ExpertSet = .all) -> [Int32] {
        let V = model.config.vocabSize
        let decoder = Decoder(model: model, allowed: allowed)
        var rng = RNG(seed: seed)
        var context = prompt.isEmpty ? [Int32(model.config.bosTokenID)] : prompt
        if context.count > decoder.capacity { context = Array(context.suffix(decoder.capacity / 2)) }
        for t in context { decoder.step(t) }
        var out = [Int32]()
        for _ in 0..<maxTokens {
            let next = Int32(sample(UnsafeBufferPointer(start: decoder.logits.pointer, count: V), temperature: temperature, topK: topK, rng: &rng))
            if stop.contains(next) { break }
            out.append(next)
            context.append(next)
            if decoder.isFull {
                context = Array(context.suffix(decoder.capacity / 2))
                decoder.reset()
                for t in context { decoder.step(t) }
            } else {
                decoder.step(next)
            }
        }
        return out
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
