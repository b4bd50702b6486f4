import Foundation

/// What one document looks like inside a model: the mean normalised hidden state entering every
/// layer's FFN (router-row material; one of them is what routing signatures measure, `SignatureSpace`)
/// and the mean final normalised hidden state.
public struct DocumentStatistics: Sendable {
    /// [L * C], layer-major.
    public var layerMeans: [Float]
    /// [C], the mean final normalised hidden state.
    public var rawEmbedding: [Float]
    public var tokens: Int

    public init(layerMeans: [Float], rawEmbedding: [Float], tokens: Int) {
        self.layerMeans = layerMeans
        self.rawEmbedding = rawEmbedding
        self.tokens = tokens
    }
}

extension Evaluator {
    /// Statistics for every document, reading at most `maxTokensPerDocument` tokens of each (default:
    /// the tokenizer's `embeddingTokens`, what the protocol measures).
    /// `throughLayer` stops the forward pass after that layer: the layers above it (and, below L, the
    /// final state) are left zero.
    public static func documentStatistics(model: Model, corpus: Corpus, maxTokensPerDocument: Int? = nil,
                                          batch: Int = 8, workers: Int = 2, throughLayer: Int? = nil,
                                          shouldStop: () -> Bool = { false }) -> [DocumentStatistics] {
        let c = model.config, C = c.hiddenSize, L = c.numLayers
        let maxTokensPerDocument = maxTokensPerDocument ?? model.tokenizer.embeddingTokens
        // Windows no longer than the longest document needs: a short query costs its own length.
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: c.windowLength, maxTokensPerDocument: maxTokensPerDocument)
        let T = windows.first?.inputs.count ?? 1
        // Sums per document; each worker writes only the documents of its own windows... which may
        // straddle workers, so each worker keeps its own sums and they are added at the end.
        let perWorker = (0..<workers).map { _ in
            (layer: FloatBuffer(count: corpus.documents.count * L * C), final: FloatBuffer(count: corpus.documents.count * C),
             tokens: UnsafeMutableBufferPointer<Int>.allocate(capacity: corpus.documents.count))
        }
        for p in perWorker { p.tokens.initialize(repeating: 0) }
        defer { for p in perWorker { p.tokens.deallocate() } }
        // No pass needs the logits: it stops after the final norm at the latest.
        let stop = throughLayer ?? L
        sweep(model: model, windows: windows, batch: batch, workers: workers, throughLayer: stop, shouldStop: shouldStop) { worker, acts, chunk in
            let sums = perWorker[worker]
            let rows = Array(chunk)
            model.forward(acts, computeLoss: false, throughLayer: stop) { l, x in
                if let only = throughLayer, l != only { return }
                for (b, win) in rows.enumerated() {
                    let dst = l < L ? sums.layer.pointer + (win.document * L + l) * C : sums.final.pointer + win.document * C
                    for t in 0..<T where win.targets[t] >= 0 { FastMath.axpy(1, x + (b * T + t) * C, dst, C) }
                }
            }
            for win in rows { sums.tokens[win.document] += win.targets.filter { $0 >= 0 }.count }
        }
        var out = [DocumentStatistics]()
        for d in 0..<corpus.documents.count {
            var layer = [Float](repeating: 0, count: L * C), final = [Float](repeating: 0, count: C)
            var n = 0
            for p in perWorker {
                for i in 0..<L * C { layer[i] += p.layer[d * L * C + i] }
                for i in 0..<C { final[i] += p.final[d * C + i] }
                n += p.tokens[d]
            }
            let inv = 1 / Float(max(n, 1))
            layer = layer.map { $0 * inv }
            out.append(DocumentStatistics(layerMeans: layer, rawEmbedding: final.map { $0 * inv }, tokens: n))
        }
        return out
    }
}

extension Evaluator {
    /// Each document's mean state at `layer` (that layer's FFN input; L: the final normalised state)
    /// over its first `maxTokensPerDocument` tokens, [documents][C]. The forward pass stops at `layer`.
    public static func layerMeans(model: Model, corpus: Corpus, layer: Int, maxTokensPerDocument: Int? = nil, batch: Int = 8,
                                  workers: Int = 2, shouldStop: () -> Bool = { false }) -> [[Float]] {
        let L = model.config.numLayers, C = model.config.hiddenSize
        precondition((0...L).contains(layer))
        return documentStatistics(model: model, corpus: corpus, maxTokensPerDocument: maxTokensPerDocument, batch: batch, workers: workers,
                                  throughLayer: layer, shouldStop: shouldStop)
            .map { layer == L ? $0.rawEmbedding : Array($0.layerMeans[layer * C..<(layer + 1) * C]) }
    }
}

public enum VectorMath {
    public static func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    public static func normalized(_ v: [Float]) -> [Float] {
        let n = norm(v)
        return n > 0 ? v.map { $0 / n } : v
    }

    public static func normalizedPerRow(_ v: [Float], rows: Int, cols: Int) -> [Float] {
        (0..<rows).flatMap { normalized(Array(v[$0 * cols..<($0 + 1) * cols])) }
    }
}
