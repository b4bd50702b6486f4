/// Token-at-a-time inference with a key/value cache, for generation: each step runs one token
/// through the model and attends to the cached keys and values of the tokens before it, so a step
/// costs one token's forward pass instead of the whole window's.
public final class Decoder: @unchecked Sendable {
    public let model: Model
    /// Positions the cache holds (the model's context).
    public let capacity: Int
    /// Tokens fed so far.
    public private(set) var position = 0
    let kCache: [FloatBuffer], vCache: [FloatBuffer]   // L × [capacity, KV·D]
    let x: FloatBuffer, ln: FloatBuffer, qkv: FloatBuffer, att: FloatBuffer, scores: FloatBuffer
    let h: FloatBuffer, a: FloatBuffer
    let moe: MoEWorkspace?
    public let logits: FloatBuffer                     // [V]
    /// The experts each token may choose among (a withdrawn expert is left out).
    public let allowed: ExpertSet

    public init(model: Model, allowed: ExpertSet = .all) {
        self.allowed = allowed
        let c = model.config
        self.model = model
        capacity = min(c.contextLength, 4096)  // SmolLM2's 8192 would cost 0.75 GB of cache for prompts that never need it
        kCache = (0..<c.numLayers).map { _ in FloatBuffer(count: min(c.contextLength, 4096) * c.kvDim) }
        vCache = (0..<c.numLayers).map { _ in FloatBuffer(count: min(c.contextLength, 4096) * c.kvDim) }
        x = FloatBuffer(count: c.hiddenSize); ln = FloatBuffer(count: c.hiddenSize)
        qkv = FloatBuffer(count: c.qkvDim); att = FloatBuffer(count: c.qDim); scores = FloatBuffer(count: min(c.contextLength, 4096))
        h = FloatBuffer(count: 2 * c.intermediateSize); a = FloatBuffer(count: c.intermediateSize)
        moe = c.isMoE ? MoEWorkspace(tokens: 1, hidden: c.hiddenSize, intermediate: c.intermediateSize,
                                     experts: c.numExperts, topK: c.expertsPerToken) : nil
        logits = FloatBuffer(count: c.vocabSize)
    }

    public var isFull: Bool { position >= capacity }

    /// Forgets every cached token.
    public func reset() { position = 0 }

    /// Feeds `token` at the next position; `logits` then holds the next token's logits.
    public func step(_ token: Int32) {
        precondition(!isFull, "the key/value cache of \(capacity) positions is full")
        let m = model, c = m.config, C = c.hiddenSize, F = c.intermediateSize, D = c.headDim
        let shape = AttentionShape(c), group = c.numHeads / c.numKVHeads, p = position
        let scale = 1 / Float(D).squareRoot()
        x.pointer.update(from: m.pointer(m.layout.embed) + Int(token) * C, count: C)
        for l in 0..<c.numLayers {
            let ly = m.layout.layers[l], kc = kCache[l].pointer, vc = vCache[l].pointer
            // Attention: x += Wo · attn(rope(Wqkv · norm(x)))
            RMSNorm.forward(out: ln.pointer, rstd: nil, inp: x.pointer, weight: m.pointer(ly.attnNorm), n: 1, c: C, eps: c.rmsNormEps)
            Linear.forward(out: qkv.pointer, inp: ln.pointer, weight: m.pointer(ly.qkv), n: 1, ic: C, oc: c.qkvDim)
            m.rope.apply(qkv: qkv.pointer, batch: 1, seqLen: 1, shape: shape, start: p)
            (kc + p * c.kvDim).update(from: qkv.pointer + c.qDim, count: c.kvDim)
            (vc + p * c.kvDim).update(from: qkv.pointer + c.qDim + c.kvDim, count: c.kvDim)
            for head in 0..<c.numHeads {
                let kv = (head / group) * D
                // scores[j] = scale · q · k_j for j ≤ p, softmax, then att = Σ_j scores[j] v_j.
                sgemm(transB: true, m: 1, n: p + 1, k: D, alpha: scale, a: qkv.pointer + head * D, lda: D,
                      b: kc + kv, ldb: c.kvDim, c: scores.pointer, ldc: p + 1)
                let mx = FastMath.max(scores.pointer, p + 1)
                let sum = FastMath.expShifted(scores.pointer, scores.pointer, p + 1, shift: mx)
                sgemm(m: 1, n: D, k: p + 1, alpha: 1 / sum, a: scores.pointer, lda: p + 1, b: vc + kv, ldb: c.kvDim,
                      c: att.pointer + head * D, ldc: D)
            }
            Linear.forward(out: x.pointer, inp: att.pointer, weight: m.pointer(ly.o), n: 1, ic: c.qDim, oc: C, accumulate: true)
            // Feed-forward: x += FFN(norm(x))
            RMSNorm.forward(out: ln.pointer, rstd: nil, inp: x.pointer, weight: m.pointer(ly.ffnNorm), n: 1, c: C, eps: c.rmsNormEps)
            if ly.isMoE, let moe {
                moe.forward(out: x.pointer, x: ln.pointer, weights: m.moeWeights(l), accumulate: true, allowed: allowed == .all ? nil : [allowed])
            } else {
                Linear.forward(out: h.pointer, inp: ln.pointer, weight: m.pointer(ly.w13), n: 1, ic: C, oc: 2 * F)
                SwiGLU.forward(out: a.pointer, h: h.pointer, n: 1, f: F)
                Linear.forward(out: x.pointer, inp: a.pointer, weight: m.pointer(ly.w2), n: 1, ic: F, oc: C, accumulate: true)
            }
        }
        RMSNorm.forward(out: ln.pointer, rstd: nil, inp: x.pointer, weight: m.pointer(m.layout.finalNorm), n: 1, c: C, eps: c.rmsNormEps)
        Linear.forward(out: logits.pointer, inp: ln.pointer, weight: m.pointer(m.layout.lmHead), n: 1, ic: C, oc: c.vocabSize)
        position += 1
    }
}
