import Foundation

/// How a mixture-of-experts model routes tokens: per layer, the mean gate weight each expert gets
/// (softmax over the top-k router logits, as the forward pass computes it) over a corpus.
public enum GateStatistics {
    /// [layer][expert] mean gate weight over every predicted token (documents cut at 4,096 tokens).
    public static func meanGates(model: Model, corpus: Corpus, workers: Int = 2) -> [[Double]] {
        measure(model: model, corpus: corpus, maxTokensPerDocument: 4096, workers: workers, loss: false).gates
    }

    /// Bits per byte — exactly `Evaluator.evaluate`'s: the same windows, batches and sums — and the mean
    /// gates, in one pass. The harmful-expert probe reads both: an expert whose router rows win every
    /// public token shows in the gates even when its weights leave the bits per byte alone.
    public static func evaluate(model: Model, corpus: Corpus, workers: Int = 2) -> (evaluation: Evaluation, gates: [[Double]]) {
        let m = measure(model: model, corpus: corpus, maxTokensPerDocument: .max, workers: workers, loss: true)
        return (m.evaluation, m.gates)
    }

    private static func measure(model: Model, corpus: Corpus, maxTokensPerDocument: Int, workers: Int,
                                loss: Bool) -> (evaluation: Evaluation, gates: [[Double]]) {
        let c = model.config
        let E = c.numExperts, k = c.expertsPerToken, C = c.hiddenSize
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: c.windowLength, maxTokensPerDocument: maxTokensPerDocument)
        var sums = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: E), count: c.numLayers), count: workers)
        var counts = [Int](repeating: 0, count: workers)
        var nats = [Double](repeating: 0, count: workers)
        sums.withUnsafeMutableBufferPointer { sumsBuf in
            counts.withUnsafeMutableBufferPointer { countBuf in
                nats.withUnsafeMutableBufferPointer { natsBuf in
                    let s = sumsBuf.baseAddress!, n = countBuf.baseAddress!, o = natsBuf.baseAddress!
                    Evaluator.sweep(model: model, windows: windows, batch: 8, workers: workers) { worker, acts, chunk in
                        let T = acts.seqLen
                        let rows = Array(chunk)
                        var chosen = [Int](repeating: -1, count: k), gates = [Float](repeating: 0, count: k)
                        o[worker] += model.forward(acts, computeLoss: loss) { l, x in
                            guard l < c.numLayers, c.isMoE, model.layout.layers[l].isMoE else { return }
                            let router = model.pointer(model.layout.layers[l].router)
                            for (b, win) in rows.enumerated() {
                                for t in 0..<T where win.targets[t] >= 0 {
                                    let v = x + (b * T + t) * C
                                    var logits = [Float](repeating: 0, count: E)
                                    for e in 0..<E { logits[e] = FastMath.dot(v, router + e * C, C) }
                                    logits.withUnsafeBufferPointer { MoEWorkspace.topK(logits: $0.baseAddress!, experts: E, allowed: .all, chosen: &chosen, gates: &gates) }
                                    for (e, weight) in zip(chosen, gates) where e >= 0 { s[worker][l][e] += Double(weight) }
                                }
                            }
                        }
                        for win in rows { n[worker] += win.targets.filter { $0 >= 0 }.count }
                    }
                }
            }
        }
        let total = Double(max(counts.reduce(0, +), 1))
        let tokens = windows.reduce(0) { $0 + $1.targets.filter { $0 >= 0 }.count }
        let evaluation = Evaluation(bits: nats.reduce(0, +) / log(2), bytes: corpus.totalBytes, tokens: tokens)
        return (evaluation, (0..<c.numLayers).map { l in (0..<E).map { e in sums.reduce(0) { $0 + $1[l][e] } / total } })
    }
}
