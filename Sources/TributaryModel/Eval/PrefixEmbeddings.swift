/// Causal context embeddings, for routing a document while it is being read. The token at position
/// j + 1 (predicted from inputs 0…j) gets the mean of the model's final normalised hidden states over
/// inputs 0…j, minus `center`, L2-normalised: the quantity routing-signature centroids are built
/// from (`DocumentStatistics.embedding`), restricted to what has been read so far. Inputs older than
/// the model's context still count: the mean runs over the whole prefix, window after window.
extension Evaluator {
    /// [document] → [predicted tokens × C] row-major, rows in the order of `TokenScores.logProbs`.
    public static func prefixEmbeddings(model: Model, corpus: Corpus, center: [Float]?, batch: Int = 8, workers: Int = 2) -> [[Float]] {
        let C = model.config.hiddenSize, L = model.config.numLayers
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: model.config.windowLength)
        // One buffer per document; windows write disjoint rows, so workers never share a row.
        let counts = Windows.predictedTokenCounts(corpus, tokenizer: model.tokenizer)
        let buffers = counts.map { FloatBuffer(count: max($0, 0) * C) }
        sweep(model: model, windows: windows, batch: batch, workers: workers) { _, acts, chunk in
            let T = acts.seqLen
            let rows = Array(chunk)
            model.forward(acts, computeLoss: false) { l, x in
                guard l == L else { return }
                for (b, win) in rows.enumerated() {
                    let dst = buffers[win.document].pointer
                    for t in 0..<T where win.targets[t] >= 0 {
                        (dst + (win.start + t) * C).update(from: x + (b * T + t) * C, count: C)
                    }
                }
            }
        }
        return zip(buffers, counts).map { buffer, n in
            var out = [Float](repeating: 0, count: max(n, 0) * C)
            var sum = [Double](repeating: 0, count: C)
            for j in 0..<max(n, 0) {
                let row = buffer.pointer + j * C
                var norm = 0.0
                for i in 0..<C {
                    sum[i] += Double(row[i])
                    let v = sum[i] / Double(j + 1) - Double(center?[i] ?? 0)
                    out[j * C + i] = Float(v)
                    norm += v * v
                }
                let inv = norm > 0 ? Float(1 / norm.squareRoot()) : 0
                for i in 0..<C { out[j * C + i] *= inv }
            }
            return out
        }
    }
}
