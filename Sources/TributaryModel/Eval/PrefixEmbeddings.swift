/// Causal context means, for routing a document while it is being read. The token at position j + 1
/// (predicted from inputs 0…j) gets the mean of the model's states at `layer` (that layer's FFN input;
/// L: the final normalised state) over inputs 0…j: the quantity a routing signature's points are
/// made from (`SignatureSpace`), restricted to what has been read so far. Inputs older than the
/// model's context still count: the mean runs over the whole prefix, window after window.
extension Evaluator {
    /// [document] → [predicted tokens × C] row-major, rows in the order of `TokenScores.logProbs`.
    public static func prefixMeans(model: Model, corpus: Corpus, layer: Int, batch: Int = 8, workers: Int = 2) -> [[Float]] {
        let C = model.config.hiddenSize
        precondition((0...model.config.numLayers).contains(layer))
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: model.config.windowLength)
        // One buffer per document; windows write disjoint rows, so workers never share a row.
        let counts = Windows.predictedTokenCounts(corpus, tokenizer: model.tokenizer)
        let buffers = counts.map { FloatBuffer(count: max($0, 0) * C) }
        sweep(model: model, windows: windows, batch: batch, workers: workers, throughLayer: layer) { _, acts, chunk in
            let T = acts.seqLen
            let rows = Array(chunk)
            model.forward(acts, computeLoss: false, throughLayer: layer) { l, x in
                guard l == layer else { return }
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
                for i in 0..<C {
                    sum[i] += Double(row[i])
                    out[j * C + i] = Float(sum[i] / Double(j + 1))
                }
            }
            return out
        }
    }
}
