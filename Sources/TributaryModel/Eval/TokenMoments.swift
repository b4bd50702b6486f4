import Foundation

/// Token-level first and second moments of the hidden state entering every layer's FFN (the
/// router's input) over a corpus: what a linear router needs to tell one kind of text from another
/// token by token, not just document by document.
public struct TokenMoments: Sendable {
    public let layers: Int, hidden: Int
    /// Σ x per layer, [L * C].
    public var sum: [Double]
    /// Σ x xᵀ per layer, [L * C * C].
    public var outer: [Double]
    public var tokens: Int

    public init(layers: Int, hidden: Int) {
        self.layers = layers
        self.hidden = hidden
        sum = [Double](repeating: 0, count: layers * hidden)
        outer = [Double](repeating: 0, count: layers * hidden * hidden)
        tokens = 0
    }

    /// Per-layer mean, [L * C].
    public var mean: [Double] { sum.map { $0 / Double(max(tokens, 1)) } }

    /// Per-layer covariance, [L * C * C].
    public var covariance: [Double] {
        let C = hidden, n = Double(max(tokens, 1)), m = mean
        var out = [Double](repeating: 0, count: layers * C * C)
        for l in 0..<layers {
            for i in 0..<C {
                for j in 0..<C {
                    out[(l * C + i) * C + j] = outer[(l * C + i) * C + j] / n - m[l * C + i] * m[l * C + j]
                }
            }
        }
        return out
    }
}

extension Evaluator {
    /// Moments over every predicted token of `corpus`, reading at most `maxTokensPerDocument` of each.
    public static func tokenMoments(model: Model, corpus: Corpus, maxTokensPerDocument: Int = 2048, batch: Int = 8,
                                    workers: Int = 2) -> TokenMoments {
        let c = model.config, C = c.hiddenSize, L = c.numLayers
        let windows = Windows.make(corpus, seqLen: c.contextLength, maxTokensPerDocument: maxTokensPerDocument)
        // Float accumulation per chunk (one sgemm), Double across chunks.
        let perWorker = (0..<workers).map { _ in
            (sum: UnsafeMutableBufferPointer<Double>.allocate(capacity: L * C), outer: UnsafeMutableBufferPointer<Double>.allocate(capacity: L * C * C),
             tokens: UnsafeMutableBufferPointer<Int>.allocate(capacity: 1), gather: FloatBuffer(count: batch * c.contextLength * C),
             chunkOuter: FloatBuffer(count: C * C))
        }
        for p in perWorker { p.sum.initialize(repeating: 0); p.outer.initialize(repeating: 0); p.tokens.initialize(repeating: 0) }
        defer { for p in perWorker { p.sum.deallocate(); p.outer.deallocate(); p.tokens.deallocate() } }
        sweep(model: model, windows: windows, batch: batch, workers: workers) { worker, acts, chunk in
            let w = perWorker[worker], T = acts.seqLen
            let rows = Array(chunk)
            model.forward(acts, computeLoss: false) { l, x in
                guard l < L else { return }
                var n = 0
                for (b, win) in rows.enumerated() {
                    for t in 0..<T where win.targets[t] >= 0 {
                        (w.gather.pointer + n * C).update(from: x + (b * T + t) * C, count: C)
                        n += 1
                    }
                }
                guard n > 0 else { return }
                // chunkOuter [C, C] = Xᵀ X over the chunk's n tokens.
                sgemm(transA: true, m: C, n: C, k: n, a: w.gather.pointer, lda: C, b: w.gather.pointer, ldb: C, c: w.chunkOuter.pointer, ldc: C)
                for i in 0..<C * C { w.outer[l * C * C + i] += Double(w.chunkOuter.pointer[i]) }
                for r in 0..<n { for i in 0..<C { w.sum[l * C + i] += Double(w.gather.pointer[r * C + i]) } }
                if l == 0 { w.tokens[0] += n }
            }
        }
        var m = TokenMoments(layers: L, hidden: C)
        for p in perWorker {
            for i in 0..<L * C { m.sum[i] += p.sum[i] }
            for i in 0..<L * C * C { m.outer[i] += p.outer[i] }
            m.tokens += p.tokens[0]
        }
        return m
    }
}

/// Small dense linear algebra for router calibration (C ≤ a few thousand; done once per merge).
public enum SymmetricSolve {
    /// Solves A x = b for symmetric positive-definite A [n, n] by Cholesky; nil when A is not.
    public static func solve(_ a: [Double], _ b: [Double], n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        var y = b
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { y[i] -= l[k * n + i] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }
}
