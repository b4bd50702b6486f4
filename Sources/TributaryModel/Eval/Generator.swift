/// Sampling from a model, so people can see what it learned.
public enum Generator {
    /// Continues `prompt` by up to `maxTokens` tokens (stopping at EOS): temperature, then top-k.
    /// Temperature 0 picks the most likely token.
    public static func generate(model: Model, prompt: [UInt8], maxTokens: Int, temperature: Float = 0.8,
                                topK: Int = 40, seed: UInt64 = 1) -> [UInt8] {
        let T = model.config.contextLength, V = model.config.vocabSize
        let acts = Activations(config: model.config, batch: 1, seqLen: T, training: false)
        var tokens: [Int32] = [Int32(ByteTokenizer.bos)] + prompt.map { Int32($0) }
        var rng = RNG(seed: seed)
        var out = [UInt8]()
        for _ in 0..<maxTokens {
            // Right-pad the last T tokens: causal attention keeps the padding out of real positions.
            let window = Array(tokens.suffix(T))
            let last = window.count - 1
            let inp = window + [Int32](repeating: Int32(ByteTokenizer.eos), count: T - window.count)
            let tgt = [Int32](repeating: Windows.padding, count: T)
            inp.withUnsafeBufferPointer { a in tgt.withUnsafeBufferPointer { acts.load(tokens: a, targets: $0) } }
            model.forward(acts, computeLoss: false)
            let logits = Array(UnsafeBufferPointer(start: acts.logits.pointer + last * V, count: V))
            let next = sample(logits, temperature: temperature, topK: topK, rng: &rng)
            if next == ByteTokenizer.eos { break }
            if next == ByteTokenizer.bos { continue }
            tokens.append(Int32(next))
            out.append(UInt8(next))
        }
        return out
    }

    static func sample(_ logits: [Float], temperature: Float, topK: Int, rng: inout RNG) -> Int {
        if temperature <= 0 { return logits.indices.max { logits[$0] < logits[$1] }! }
        let ranked = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(max(1, topK))
        let m = logits[ranked.first!]
        let weights = ranked.map { Double(FastMath.exp((logits[$0] - m) / temperature)) }
        var u = rng.uniformDouble() * weights.reduce(0, +)
        for (i, w) in zip(ranked, weights) {
            u -= w
            if u <= 0 { return i }
        }
        return ranked.last!
    }
}
