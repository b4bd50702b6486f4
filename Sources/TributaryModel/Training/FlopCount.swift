/// Matrix FLOPs one training step needs per token, counted from the same trainability flags the
/// backward pass obeys: forward everywhere; input gradients only where something below trains; weight
/// gradients only for trainable weights. The figure model-FLOP utilisation (MFU) is computed from.
public enum FlopCount {
    public static func trainingPerToken(config c: ModelConfig, trainable tr: Trainability, seqLen T: Int) -> Double {
        let C = Double(c.hiddenSize), F = Double(c.intermediateSize), V = Double(c.vocabSize), t = Double(T)
        let Q = Double(c.qDim), W = Double(c.qkvDim)
        // Per token and layer: 2·in·out per linear; attention scores and mixing 4·T·H·D (the full T×T
        // products our kernels compute).
        let attnLinear = 2 * (W * C + Q * C), attnCore = 4 * t * Q
        let ffnLinear = 2 * 3 * C * F
        var flops = 2 * C * V  // lm_head forward
        flops += 2 * C * V     // lm_head input gradient (something below always trains)
        if tr.lmHead { flops += 2 * C * V }
        for l in 0..<c.numLayers {
            let moe = c.isExpertLayer(l)
            let activeExperts = Double(moe ? c.expertsPerToken : 1), router = moe ? 2 * C * Double(c.numExperts) : 0
            flops += attnLinear + attnCore + ffnLinear * activeExperts + router
            // FFN block backward.
            if tr.ffnInputGrad[l] { flops += ffnLinear * activeExperts + router }
            if moe {
                let trainedExperts = Double(tr.expert[l].filter { $0 }.count)
                flops += ffnLinear * min(trainedExperts, activeExperts)
            } else if tr.denseFFN[l] {
                flops += ffnLinear
            }
            // Attention block backward: the core's 8·T·C whenever anything flows through it.
            let through = tr.attention[l] || tr.attentionInputGrad[l]
            guard tr.ffnInputGrad[l] && through else { continue }
            flops += 2 * C * Q + 2 * t * Q * 4  // o_proj input grad + attention core backward
            if tr.attention[l] { flops += attnLinear }
            if tr.attentionInputGrad[l] { flops += 2 * W * C }
        }
        return flops
    }
}
