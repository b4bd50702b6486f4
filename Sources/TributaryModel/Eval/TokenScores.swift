import Foundation

/// Every predicted token's natural log-probability under a model, per document: what ensembles
/// (c-BTM's mixture of expert models) and per-document routing are evaluated from.
public struct TokenScores: Sendable {
    /// `logProbs[d]` holds document d's target tokens in order (bytes and the final EOS).
    public let logProbs: [[Float]]
    /// Bytes of each document (targets below 256): the denominator of bits per byte.
    public let bytes: [Int]

    public init(logProbs: [[Float]], bytes: [Int]) {
        precondition(logProbs.count == bytes.count)
        self.logProbs = logProbs
        self.bytes = bytes
    }

    /// Bits per byte over the documents `subset` (default all).
    public func bitsPerByte(_ subset: [Int]? = nil) -> Double {
        let ds = subset ?? Array(logProbs.indices)
        let nats = ds.reduce(0.0) { acc, d in acc - logProbs[d].reduce(0.0) { $0 + Double($1) } }
        return nats / log(2) / Double(max(1, ds.reduce(0) { $0 + bytes[$1] }))
    }

    /// Bits per byte of a per-document mixture: document d is scored by Σ_k w_k p_k(token), with
    /// `weights[d]` pairs of (index into `models`, weight), weights summing to 1.
    public static func mixtureBitsPerByte(_ models: [TokenScores], weights: [[(Int, Double)]]) -> Double {
        var nats = 0.0, bytes = 0
        for d in weights.indices {
            let parts = weights[d]
            let n = models[parts[0].0].logProbs[d].count
            for t in 0..<n {
                // log Σ w exp(lp), stably.
                let terms = parts.map { log($0.1) + Double(models[$0.0].logProbs[d][t]) }
                let m = terms.max()!
                nats -= m + log(terms.reduce(0) { $0 + exp($1 - m) })
            }
            bytes += models[parts[0].0].bytes[d]
        }
        return nats / log(2) / Double(max(1, bytes))
    }
}

extension Evaluator {
    /// Log-probabilities of every target token of every document, windowed exactly as `evaluate`.
    /// `expertSets[d][j]`, when given, is the set of experts an MoE may use for
    /// document d's j-th predicted token (see `MoEWorkspace.forward`).
    /// `prefix`: the first pass records the stream entering `prefix.layer`; a later pass of a model
    /// sharing the weights below it starts there (any other model runs the whole pass).
    public static func tokenScores(model: Model, corpus: Corpus, expertSets: [[ExpertSet]]? = nil, prefix: PrefixStates? = nil,
                                   batch: Int = 8, workers: Int = 2) -> TokenScores {
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: model.config.windowLength)
        let reuse = prefix.map { $0.serves(model, windows: windows) } ?? false
        let record = !reuse && (prefix.map { $0.startRecording(model, windows: windows) } ?? false)
        let T = windows.first?.inputs.count ?? 1, V = model.config.vocabSize
        // Each window's scores land in its own slot; windows of a document are consecutive.
        let slots = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: windows.count)
        slots.initialize(repeating: [])
        defer { slots.deallocate() }
        let base = slots.baseAddress!
        sweep(model: model, windows: windows, batch: batch, workers: workers) { _, acts, chunk in
            if let expertSets {
                var mask = [ExpertSet](repeating: .all, count: acts.tokenCount)
                for (j, w) in chunk.enumerated() {
                    for t in 0..<T where w.targets[t] >= 0 { mask[j * T + t] = expertSets[w.document][w.start + t] }
                }
                acts.restrictExperts(mask)
            }
            if reuse { prefix!.copy(acts, first: chunk.startIndex, count: chunk.count, record: false) }
            _ = model.forward(acts, computeLoss: false, fromLayer: reuse ? prefix!.layer : 0)
            if record { prefix!.copy(acts, first: chunk.startIndex, count: chunk.count, record: true) }
            let logits = acts.logits.pointer
            for (j, w) in chunk.enumerated() {
                var out = [Float]()
                out.reserveCapacity(T)
                for t in 0..<T where w.targets[t] >= 0 {
                    let row = logits + (j * T + t) * V
                    var m = -Float.infinity
                    for v in 0..<V { m = max(m, row[v]) }
                    var s: Float = 0
                    for v in 0..<V { s += expf(row[v] - m) }
                    out.append(row[Int(w.targets[t])] - m - logf(s))
                }
                base[chunk.startIndex + j] = out
            }
        }
        var logProbs = [[Float]](repeating: [], count: corpus.documents.count)
        for (i, w) in windows.enumerated() { logProbs[w.document] += base[i] }
        let bytes = corpus.documents.map { $0.bytes.count }
        return TokenScores(logProbs: logProbs, bytes: bytes)
    }
}
