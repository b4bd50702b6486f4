/// The forward pass, layer by layer (llm.c style): every intermediate the backward pass needs is
/// written into `Activations`.
extension Model {
    /// Runs the model over `acts.tokens`; returns the summed cross-entropy (nats) against `acts.targets`.
    /// With `gradScale`, logits are replaced by ∂loss/∂logits scaled by it, ready for `backward`.
    /// `observe(l, x)` sees each layer's FFN input (the normalised hidden state, [N, C]) for l < L, and
    /// the final normalised hidden state for l == L: what router rows and embeddings are built from.
    /// `fromLayer` > 0 starts at that layer with `acts.resid[fromLayer]` already filled (`PrefixStates`):
    /// models that share the layers below it need not compute them again. `throughLayer` stops right
    /// after `observe` has seen that layer (no logits, returns 0): what reading one layer's states costs.
    @discardableResult
    public func forward(_ acts: Activations, gradScale: Float? = nil, computeLoss: Bool = true, fromLayer start: Int = 0,
                        throughLayer stop: Int? = nil, observe: ((Int, UnsafePointer<Float>) -> Void)? = nil) -> Double {
        let c = config, N = acts.tokenCount, C = c.hiddenSize
        let B = acts.batch, T = acts.seqLen, shape = AttentionShape(c)
        precondition(T <= c.contextLength, "sequence of \(T) tokens exceeds the context of \(c.contextLength)")
        precondition((0...c.numLayers).contains(start) && (start == 0 || gradScale == nil), "forward from layer \(start) is for inference")
        precondition(stop.map { (start...c.numLayers).contains($0) && gradScale == nil } ?? true, "forward through layer \(stop ?? 0) is for inference")
        precondition(acts.throughLayer.map { limit in stop.map { $0 <= limit } ?? false } ?? true,
                     "activations made for passes through layer \(acts.throughLayer ?? 0) cannot run through \(stop.map(String.init) ?? "the output head")")
        // Token embedding: resid0[t] = E[token[t]]
        if start == 0 {
            let emb = pointer(layout.embed)
            let x0 = acts.resid[0].pointer
            for t in 0..<N { (x0 + t * C).update(from: emb + Int(acts.tokens[t]) * C, count: C) }
        }

        for l in start..<c.numLayers {
            let ly = layout.layers[l], s = acts.slot(l)
            let x = acts.resid[l].pointer, mid = acts.mid[l].pointer, out = acts.resid[l + 1].pointer
            let ln1 = acts.ln1[s].pointer, qkv = acts.qkv[s].pointer, att = acts.att[s].pointer, ln2 = acts.ln2[s].pointer
            // Attention block: mid = x + Wo · attn(rope(Wqkv · norm(x)))
            PassProfile.time(.normsAndResiduals) {
                RMSNorm.forward(out: ln1, rstd: acts.rstd1[s].pointer, inp: x, weight: pointer(ly.attnNorm), n: N, c: C, eps: c.rmsNormEps)
            }
            PassProfile.time(.projections) { Linear.forward(out: qkv, inp: ln1, weight: pointer(ly.qkv), n: N, ic: C, oc: c.qkvDim) }
            PassProfile.time(.attention) {
                rope.apply(qkv: qkv, batch: B, seqLen: T, shape: shape)
                Attention.forward(out: att, probs: acts.probs[s].pointer, qkv: qkv, batch: B, seqLen: T, shape: shape)
            }
            PassProfile.time(.normsAndResiduals) { mid.update(from: x, count: N * C) }
            PassProfile.time(.projections) { Linear.forward(out: mid, inp: att, weight: pointer(ly.o), n: N, ic: c.qDim, oc: C, accumulate: true) }
            // Feed-forward block: out = mid + FFN(norm(mid))
            PassProfile.time(.normsAndResiduals) {
                RMSNorm.forward(out: ln2, rstd: acts.rstd2[s].pointer, inp: mid, weight: pointer(ly.ffnNorm), n: N, c: C, eps: c.rmsNormEps)
            }
            observe?(l, ln2)
            if l == stop { return 0 }
            PassProfile.time(.normsAndResiduals) { out.update(from: mid, count: N * C) }
            PassProfile.time(.feedForward) { feedForward(acts, layer: l, slot: s, ln2: ln2, out: out) }
        }
        PassProfile.time(.normsAndResiduals) {
            RMSNorm.forward(out: acts.lnf.pointer, rstd: acts.rstdf.pointer, inp: acts.resid[c.numLayers].pointer,
                            weight: pointer(layout.finalNorm), n: N, c: C, eps: c.rmsNormEps)
        }
        observe?(c.numLayers, acts.lnf.pointer)
        if stop == c.numLayers { return 0 }
        return PassProfile.time(.outputHead) {
            Linear.forward(out: acts.logits.pointer, inp: acts.lnf.pointer, weight: pointer(layout.lmHead), n: N, ic: C, oc: c.vocabSize)
            guard computeLoss else { return 0 }
            return acts.targets.withUnsafeBufferPointer {
                CrossEntropy.forward(logits: acts.logits.pointer, targets: $0.baseAddress!, n: N, v: c.vocabSize, gradScale: gradScale)
            }
        }
    }

    /// Layer l's feed-forward block, added into `out`: the MoE block, or the dense SwiGLU MLP.
    func feedForward(_ acts: Activations, layer l: Int, slot s: Int, ln2: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = config, N = acts.tokenCount, C = c.hiddenSize, F = c.intermediateSize, ly = layout.layers[l]
        if ly.isMoE, let moe = acts.moe[s] {
            moe.forward(out: out, x: ln2, weights: moeWeights(l), accumulate: true, allowed: acts.expertMask)
        } else {
            let h = acts.ffnH[s].pointer, a = acts.ffnA[s].pointer
            Linear.forward(out: h, inp: ln2, weight: pointer(ly.w13), n: N, ic: C, oc: 2 * F)
            SwiGLU.forward(out: a, h: h, n: N, f: F)
            Linear.forward(out: out, inp: a, weight: pointer(ly.w2), n: N, ic: F, oc: C, accumulate: true)
        }
    }
}
