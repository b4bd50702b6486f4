/// The backward pass, mirroring `forward` in reverse. Gradients accumulate (+=) into `grads`, a buffer
/// laid out like the parameters; only what `trainable` allows is computed, and the pass stops at the
/// lowest layer that still has something trainable below it.
extension Model {
    /// Call after `forward(acts, gradScale:)`, whose logits now hold ∂loss/∂logits.
    public func backward(_ acts: Activations, grads: FloatBuffer, trainable tr: Trainability) {
        let c = config, N = acts.tokenCount, C = c.hiddenSize, F = c.intermediateSize
        let B = acts.batch, T = acts.seqLen, L = c.numLayers, shape = AttentionShape(c)
        precondition(acts.forTraining, "backward needs activations allocated for training")
        let g = grads.pointer
        let dresid = acts.dresid.pointer, dln = acts.dln.pointer

        // lm_head and final norm.
        PassProfile.time(.outputHead) {
            Linear.backwardInput(dinp: dln, dout: acts.logits.pointer, weight: pointer(layout.lmHead), n: N, ic: C, oc: c.vocabSize, accumulate: false)
            if tr.lmHead {
                Linear.backwardWeight(dweight: g + layout.lmHead, dout: acts.logits.pointer, inp: acts.lnf.pointer, n: N, ic: C, oc: c.vocabSize)
            }
        }
        PassProfile.time(.normsAndResiduals) {
            dresid.update(repeating: 0, count: N * C)
            RMSNorm.backward(dinp: dresid, dweight: tr.finalNorm ? g + layout.finalNorm : nil, dout: dln, inp: acts.resid[L].pointer,
                             weight: pointer(layout.finalNorm), rstd: acts.rstdf.pointer, n: N, c: C)
        }

        for l in stride(from: L - 1, through: 0, by: -1) {
            let ly = layout.layers[l], s = acts.slot(l)
            precondition(acts.keeps(l), "the backward pass reaches layer \(l), below the layers the activations keep (from \(acts.keepFrom))")
            let mid = acts.mid[l].pointer, ln2 = acts.ln2[s].pointer
            // Feed-forward block. dresid holds ∂L/∂out; the residual path passes it on to mid unchanged.
            let needFFNInput = tr.ffnInputGrad[l]
            PassProfile.time(.feedForward) {
                if ly.isMoE, let moe = acts.moe[s] {
                    var moeGrads = MoEWorkspace.Grads(router: nil, routerRows: tr.routerRow[l], w13: [], w2: [])
                    moeGrads.router = tr.routerRow[l].contains(true) ? g + ly.router : nil
                    moeGrads.w13 = (0..<c.numExperts).map { tr.expert[l][$0] ? g + ly.expertW13[$0] : nil }
                    moeGrads.w2 = (0..<c.numExperts).map { tr.expert[l][$0] ? g + ly.expertW2[$0] : nil }
                    if tr.loraFactors[l], let lora = c.lora {
                        let p = { (o: Int) -> UnsafePointer<Float>? in o < 0 ? nil : UnsafePointer(self.pointer(o)) }
                        let q = { (o: Int) -> UnsafeMutablePointer<Float>? in o < 0 ? nil : g + o }
                        moeGrads.lora = .init(expert: lora.expert, rank: lora.rank, scale: lora.scale, a: ly.loraA.map(p), b: ly.loraB.map(p),
                                              da: ly.loraA.map(q), db: ly.loraB.map(q))
                    }
                    if needFFNInput { dln.update(repeating: 0, count: N * C) }
                    moe.backward(dx: needFFNInput ? dln : nil, dout: dresid, x: ln2, weights: moeWeights(l), grads: moeGrads,
                                 routing: acts.routingLoss)
                } else {
                    let h = acts.ffnH[s].pointer, a = acts.ffnA[s].pointer, dh = acts.dh.pointer, da = acts.da.pointer
                    Linear.backwardInput(dinp: da, dout: dresid, weight: pointer(ly.w2), n: N, ic: F, oc: C, accumulate: false)
                    if tr.denseFFN[l] { Linear.backwardWeight(dweight: g + ly.w2, dout: dresid, inp: a, n: N, ic: F, oc: C) }
                    SwiGLU.backward(dh: dh, da: da, h: h, n: N, f: F)
                    if tr.denseFFN[l] { Linear.backwardWeight(dweight: g + ly.w13, dout: dh, inp: ln2, n: N, ic: C, oc: 2 * F) }
                    if needFFNInput { Linear.backwardInput(dinp: dln, dout: dh, weight: pointer(ly.w13), n: N, ic: C, oc: 2 * F, accumulate: false) }
                }
            }
            guard needFFNInput else { break }
            PassProfile.time(.normsAndResiduals) {
                RMSNorm.backward(dinp: dresid, dweight: tr.ffnNorm[l] ? g + ly.ffnNorm : nil, dout: dln, inp: mid,
                                 weight: pointer(ly.ffnNorm), rstd: acts.rstd2[s].pointer, n: N, c: C)
            }

            // Attention block. dresid now holds ∂L/∂mid.
            let needAttnInput = tr.attentionInputGrad[l]
            guard tr.attention[l] || needAttnInput else { break }
            let qkv = acts.qkv[s].pointer, att = acts.att[s].pointer, datt = acts.datt.pointer, dqkv = acts.dqkv.pointer
            PassProfile.time(.projections) {
                Linear.backwardInput(dinp: datt, dout: dresid, weight: pointer(ly.o), n: N, ic: c.qDim, oc: C, accumulate: false)
                if tr.attention[l] { Linear.backwardWeight(dweight: g + ly.o, dout: dresid, inp: att, n: N, ic: c.qDim, oc: C) }
            }
            PassProfile.time(.attention) {
                Attention.backward(dqkv: dqkv, dout: datt, qkv: qkv, probs: acts.probs[s].pointer, scratch: acts.attnScratch.pointer,
                                   batch: B, seqLen: T, shape: shape)
                rope.apply(qkv: dqkv, batch: B, seqLen: T, shape: shape, inverse: true)
            }
            PassProfile.time(.projections) {
                if tr.attention[l] { Linear.backwardWeight(dweight: g + ly.qkv, dout: dqkv, inp: acts.ln1[s].pointer, n: N, ic: C, oc: c.qkvDim) }
            }
            guard needAttnInput else { break }
            PassProfile.time(.projections) {
                Linear.backwardInput(dinp: dln, dout: dqkv, weight: pointer(ly.qkv), n: N, ic: C, oc: c.qkvDim, accumulate: false)
            }
            PassProfile.time(.normsAndResiduals) {
                RMSNorm.backward(dinp: dresid, dweight: tr.attention[l] ? g + ly.attnNorm : nil, dout: dln, inp: acts.resid[l].pointer,
                                 weight: pointer(ly.attnNorm), rstd: acts.rstd1[s].pointer, n: N, c: C)
            }
        }
        // Token embedding: dE[token] += ∂L/∂resid0.
        if tr.embed {
            for t in 0..<N { FastMath.axpy(1, dresid + t * C, g + layout.embed + Int(acts.tokens[t]) * C, C) }
        }
    }
}
