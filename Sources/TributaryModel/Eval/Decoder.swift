/// Inference with a key/value cache, for generation. Each pass feeds rows — tokens of one or several
/// sequences — through the model; a row attends to the cached keys and values of its own sequence up
/// to its position, so a step costs one token's forward pass per sequence instead of the whole
/// window's. A step is bound by reading the weights (one row per matrix), so the decoder feeds every
/// sequence it holds in the same pass (each weight read once for all of them), splits each product
/// across `parts` cores, and feeds a prompt as one pass of many rows rather than token by token.
public final class Decoder: @unchecked Sendable {
    public let model: Model
    /// Positions each sequence's cache holds.
    public let capacity: Int
    /// Sequences decoded together.
    public let sequences: Int
    /// Rows one pass may feed.
    public let maxRows: Int
    /// Cores each matrix product and the attention are split across.
    public let parts: Int
    /// Tokens fed so far, per sequence.
    public private(set) var positions: [Int]
    let kCache: [FloatBuffer], vCache: [FloatBuffer]   // L × [S, capacity, KV·D]
    let x: FloatBuffer, ln: FloatBuffer, qkv: FloatBuffer, att: FloatBuffer  // [R, C], [R, C], [R, QKV], [R, Q]
    let scores: FloatBuffer                            // [parts, capacity]
    let h: FloatBuffer, a: FloatBuffer                 // [R, 2F], [R, F]
    let moe: MoEWorkspace?
    let headIn: FloatBuffer, headOut: FloatBuffer      // [S, C], [S, V]
    /// Each sequence's next-token logits after the last pass that fed it: [S, V].
    public let logits: FloatBuffer
    /// The experts each token may choose among (a withdrawn expert is left out).
    public let allowed: ExpertSet

    /// `capacity` defaults to the model's context up to 4,096 positions (SmolLM2's 8,192 would cost
    /// 0.75 GB of cache per sequence for prompts that never need it).
    public init(model: Model, allowed: ExpertSet = .all, sequences: Int = 1, capacity: Int? = nil, maxRows: Int = 64, parts: Int = 2) {
        let c = model.config
        precondition(sequences >= 1 && maxRows >= 1 && parts >= 1)
        self.model = model
        self.allowed = allowed
        self.sequences = sequences
        self.capacity = max(1, min(capacity ?? 4096, c.contextLength, 4096))
        self.maxRows = max(maxRows, sequences)
        self.parts = parts
        positions = [Int](repeating: 0, count: sequences)
        let S = sequences, R = self.maxRows, cap = self.capacity
        kCache = (0..<c.numLayers).map { _ in FloatBuffer(count: S * cap * c.kvDim) }
        vCache = (0..<c.numLayers).map { _ in FloatBuffer(count: S * cap * c.kvDim) }
        x = FloatBuffer(count: R * c.hiddenSize); ln = FloatBuffer(count: R * c.hiddenSize)
        qkv = FloatBuffer(count: R * c.qkvDim); att = FloatBuffer(count: R * c.qDim); scores = FloatBuffer(count: parts * cap)
        h = FloatBuffer(count: R * 2 * c.intermediateSize); a = FloatBuffer(count: R * c.intermediateSize)
        moe = c.isMoE ? MoEWorkspace(tokens: R, hidden: c.hiddenSize, intermediate: c.intermediateSize,
                                     experts: c.numExperts, topK: c.expertsPerToken) : nil
        moe?.parts = parts
        headIn = FloatBuffer(count: S * c.hiddenSize); headOut = FloatBuffer(count: S * c.vocabSize)
        logits = FloatBuffer(count: S * c.vocabSize)
    }

    public func isFull(_ sequence: Int) -> Bool { positions[sequence] >= capacity }

    /// Forgets one sequence's cached tokens.
    public func reset(_ sequence: Int) { positions[sequence] = 0 }

    /// Sequence s's next-token logits (valid after a pass that fed s with `logits` on).
    public func sequenceLogits(_ s: Int) -> UnsafeMutablePointer<Float> { logits.pointer + s * model.config.vocabSize }

    /// Feeds `token` to sequence 0 at its next position; `logits` then holds the next token's logits.
    public func step(_ token: Int32) { feed([(0, token)]) }

    /// Feeds `tokens` to one sequence in passes of at most `maxRows` rows (a prompt); its logits are
    /// those after the last token.
    public func prefill(_ sequence: Int, _ tokens: some Collection<Int32>) {
        let all = Array(tokens)
        var i = 0
        while i < all.count {
            let end = min(all.count, i + maxRows)
            feed(all[i..<end].map { (sequence, $0) }, logits: end == all.count)
            i = end
        }
    }

    /// One pass: each row is a token fed to its sequence at that sequence's next position (a sequence
    /// may take several rows, in order). With `logits`, each fed sequence's logits after its last row.
    public func feed(_ rows: [(sequence: Int, token: Int32)], logits wantLogits: Bool = true) {
        let R = rows.count
        precondition(R >= 1 && R <= maxRows, "\(R) rows in a decoder for \(maxRows)")
        let m = model, c = m.config, C = c.hiddenSize, F = c.intermediateSize, D = c.headDim, KV = c.kvDim
        let shape = AttentionShape(c)
        var pos = [Int](repeating: 0, count: R)
        for (i, r) in rows.enumerated() {
            precondition(positions[r.sequence] < capacity, "the key/value cache of \(capacity) positions is full")
            pos[i] = positions[r.sequence]
            positions[r.sequence] += 1
            (x.pointer + i * C).update(from: m.pointer(m.layout.embed) + Int(r.token) * C, count: C)
        }
        let perRow = allowed == .all ? nil : [ExpertSet](repeating: allowed, count: R)
        for l in 0..<c.numLayers {
            let ly = m.layout.layers[l], kc = kCache[l].pointer, vc = vCache[l].pointer
            // Attention: x += Wo · attn(rope(Wqkv · norm(x)))
            RMSNorm.forward(out: ln.pointer, rstd: nil, inp: x.pointer, weight: m.pointer(ly.attnNorm), n: R, c: C, eps: c.rmsNormEps)
            Linear.forward(out: qkv.pointer, inp: ln.pointer, weight: m.pointer(ly.qkv), n: R, ic: C, oc: c.qkvDim, parts: parts)
            for (i, r) in rows.enumerated() {
                let row = qkv.pointer + i * c.qkvDim, slot = (r.sequence * capacity + pos[i]) * KV
                m.rope.apply(qkv: row, batch: 1, seqLen: 1, shape: shape, start: pos[i])
                (kc + slot).update(from: row + c.qDim, count: KV)
                (vc + slot).update(from: row + c.qDim + KV, count: KV)
            }
            let workers = min(parts, R), chunk = (R + workers - 1) / workers
            parallelFor(workers) { w in
                for i in (w * chunk)..<min(R, (w + 1) * chunk) {
                    attend(row: i, sequence: rows[i].sequence, position: pos[i], layer: l, scores: scores.pointer + w * capacity)
                }
            }
            Linear.forward(out: x.pointer, inp: att.pointer, weight: m.pointer(ly.o), n: R, ic: c.qDim, oc: C, accumulate: true, parts: parts)
            // Feed-forward: x += FFN(norm(x))
            RMSNorm.forward(out: ln.pointer, rstd: nil, inp: x.pointer, weight: m.pointer(ly.ffnNorm), n: R, c: C, eps: c.rmsNormEps)
            if ly.isMoE, let moe {
                moe.use(rows: R)
                moe.forward(out: x.pointer, x: ln.pointer, weights: m.moeWeights(l), accumulate: true, allowed: perRow)
            } else {
                Linear.forward(out: h.pointer, inp: ln.pointer, weight: m.pointer(ly.w13), n: R, ic: C, oc: 2 * F, parts: parts)
                SwiGLU.forward(out: a.pointer, h: h.pointer, n: R, f: F)
                Linear.forward(out: x.pointer, inp: a.pointer, weight: m.pointer(ly.w2), n: R, ic: F, oc: C, accumulate: true, parts: parts)
            }
        }
        guard wantLogits else { return }
        // The output head only for each fed sequence's last row.
        var last = [(sequence: Int, row: Int)]()
        for (i, r) in rows.enumerated() {
            if let j = last.firstIndex(where: { $0.sequence == r.sequence }) { last[j].row = i } else { last.append((r.sequence, i)) }
        }
        for (j, l) in last.enumerated() {
            RMSNorm.forward(out: headIn.pointer + j * C, rstd: nil, inp: x.pointer + l.row * C, weight: m.pointer(m.layout.finalNorm),
                            n: 1, c: C, eps: c.rmsNormEps)
        }
        let V = c.vocabSize
        Linear.forward(out: headOut.pointer, inp: headIn.pointer, weight: m.pointer(m.layout.lmHead), n: last.count, ic: C, oc: V, parts: parts)
        for (j, l) in last.enumerated() { sequenceLogits(l.sequence).update(from: headOut.pointer + j * V, count: V) }
    }

    /// att[row] = softmax(scale · q kᵀ) v over the row's sequence's cache up to `position`, per head.
    private func attend(row i: Int, sequence s: Int, position p: Int, layer l: Int, scores: UnsafeMutablePointer<Float>) {
        let c = model.config, D = c.headDim, KV = c.kvDim, group = c.numHeads / c.numKVHeads
        let kc = kCache[l].pointer + s * capacity * KV, vc = vCache[l].pointer + s * capacity * KV
        let q = qkv.pointer + i * c.qkvDim, out = att.pointer + i * c.qDim
        let scale = 1 / Float(D).squareRoot()
        for head in 0..<c.numHeads {
            let kv = (head / group) * D
            // scores[j] = scale · q · k_j for j ≤ p, softmax, then att = Σ_j scores[j] v_j.
            sgemm(transB: true, m: 1, n: p + 1, k: D, alpha: scale, a: q + head * D, lda: D, b: kc + kv, ldb: KV, c: scores, ldc: p + 1)
            let mx = FastMath.max(scores, p + 1)
            let sum = FastMath.expShifted(scores, scores, p + 1, shift: mx)
            sgemm(m: 1, n: D, k: p + 1, alpha: 1 / sum, a: scores, lda: p + 1, b: vc + kv, ldb: KV, c: out + head * D, ldc: D)
        }
    }
}
