/// How a mixture-of-experts model routes tokens: per layer, the mean gate weight each expert gets
/// (softmax over the top-k router logits, as the forward pass computes it) over a corpus.
public enum GateStatistics {
    /// [layer][expert] mean gate weight over every predicted token.
    public static func meanGates(model: Model, corpus: Corpus, workers: Int = 2) -> [[Double]] {
        let c = model.config
        guard c.isMoE else { return [] }
        let E = c.numExperts, k = c.expertsPerToken, C = c.hiddenSize
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: c.windowLength, maxTokensPerDocument: 4096)
        var sums = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: E), count: c.numLayers), count: workers)
        var counts = [Int](repeating: 0, count: workers)
        sums.withUnsafeMutableBufferPointer { sumsBuf in
            counts.withUnsafeMutableBufferPointer { countBuf in
                let s = sumsBuf.baseAddress!, n = countBuf.baseAddress!
                Evaluator.sweep(model: model, windows: windows, batch: 8, workers: workers) { worker, acts, chunk in
                    let T = acts.seqLen
                    let rows = Array(chunk)
                    var chosen = [Int](repeating: -1, count: k), gates = [Float](repeating: 0, count: k)
                    model.forward(acts, computeLoss: false) { l, x in
                        guard l < c.numLayers else { return }
                        let router = model.pointer(model.layout.layers[l].router)
                        for (b, win) in rows.enumerated() {
                            for t in 0..<T where win.targets[t] >= 0 {
                                let v = x + (b * T + t) * C
                                var logits = [Float](repeating: 0, count: E)
                                for e in 0..<E { logits[e] = FastMath.dot(v, router + e * C, C) }
                                logits.withUnsafeBufferPointer { MoEWorkspace.topK(logits: $0.baseAddress!, experts: E, allowed: .all, chosen: &chosen, gates: &gates) }
                                for (e, weight) in zip(chosen, gates) where e >= 0 { s[worker][l][e] += Double(weight) }
                                if l == 0 { n[worker] += 1 }
                            }
                        }
                    }
                }
            }
        }
        let total = Double(max(counts.reduce(0, +), 1))
        return (0..<c.numLayers).map { l in (0..<E).map { e in sums.reduce(0) { $0 + $1[l][e] } / total } }
    }
}
