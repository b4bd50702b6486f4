/// Everything one worker's forward pass keeps for its backward pass, for a fixed shard of
/// `batch` sequences of `seqLen` tokens. Allocated once; every step reuses it.
public final class Activations: @unchecked Sendable {
    public let batch: Int, seqLen: Int
    public var tokenCount: Int { batch * seqLen }
    let config: ModelConfig

    var tokens: [Int32]
    var targets: [Int32]
    /// Optional [N] sets of the experts each token may use (see `MoEWorkspace.forward`).
    var expertMask: [ExpertSet]?
    let resid: [FloatBuffer]        // L+1 × [N, C]: stream entering each layer, and the final output
    let mid: [FloatBuffer]          // L × [N, C]: stream after attention
    let ln1: [FloatBuffer], rstd1: [FloatBuffer]
    let qkv: [FloatBuffer]          // L × [N, W] (W = H·D + 2·KV·D), q and k rotated
    let probs: [FloatBuffer]        // L × [B, H, T, T]
    let att: [FloatBuffer]          // L × [N, H·D]
    let ln2: [FloatBuffer], rstd2: [FloatBuffer]
    let ffnH: [FloatBuffer]         // dense layers: [N, 2F] (empty in an MoE layer's slot)
    let ffnA: [FloatBuffer]         // dense layers: [N, F]
    let moe: [MoEWorkspace?]        // MoE layers: their workspace (nil in a dense layer's slot)
    let lnf: FloatBuffer, rstdf: FloatBuffer
    let logits: FloatBuffer         // [N, V]
    // Backward scratch.
    let dresid: FloatBuffer, dln: FloatBuffer, datt: FloatBuffer, dqkv: FloatBuffer
    let dh: FloatBuffer, da: FloatBuffer, attnScratch: FloatBuffer

    public init(config c: ModelConfig, batch: Int, seqLen: Int, training: Bool = true) {
        self.config = c
        self.batch = batch
        self.seqLen = seqLen
        let N = batch * seqLen, C = c.hiddenSize, F = c.intermediateSize, L = c.numLayers
        let W = c.qkvDim, Q = c.qDim
        func many(_ count: Int, _ size: Int) -> [FloatBuffer] { (0..<count).map { _ in FloatBuffer(count: size) } }
        tokens = [Int32](repeating: 0, count: N)
        targets = [Int32](repeating: 0, count: N)
        resid = many(L + 1, N * C)
        mid = many(L, N * C)
        // Inference needs one layer's intermediates at a time; training keeps all of them.
        let kept = training ? L : 1
        ln1 = many(kept, N * C); rstd1 = many(kept, N)
        qkv = many(kept, N * W)
        probs = many(kept, batch * c.numHeads * seqLen * seqLen)
        att = many(kept, N * Q)
        ln2 = many(kept, N * C); rstd2 = many(kept, N)
        // A slot serves layer `slot` when training, every layer otherwise.
        let moeLayers = Set(c.moeLayers)
        let needsDense = (0..<kept).map { training ? !moeLayers.contains($0) : moeLayers.count < L }
        let needsMoE = (0..<kept).map { training ? moeLayers.contains($0) : !moeLayers.isEmpty }
        ffnH = needsDense.map { FloatBuffer(count: $0 ? N * 2 * F : 0) }
        ffnA = needsDense.map { FloatBuffer(count: $0 ? N * F : 0) }
        moe = needsMoE.map {
            $0 ? MoEWorkspace(tokens: N, hidden: C, intermediate: F, experts: c.numExperts, topK: c.expertsPerToken) : nil
        }
        lnf = FloatBuffer(count: N * C); rstdf = FloatBuffer(count: N)
        logits = FloatBuffer(count: N * c.vocabSize)
        let g = training ? 1 : 0
        dresid = FloatBuffer(count: g * N * C); dln = FloatBuffer(count: g * N * C); datt = FloatBuffer(count: g * N * Q)
        dqkv = FloatBuffer(count: g * N * W)
        dh = FloatBuffer(count: g * N * 2 * F); da = FloatBuffer(count: g * N * F)
        attnScratch = FloatBuffer(count: g * seqLen * seqLen)
        keepsAllLayers = training
    }

    let keepsAllLayers: Bool
    /// Index of layer l's saved intermediates (inference reuses slot 0).
    @inline(__always) func slot(_ l: Int) -> Int { keepsAllLayers ? l : 0 }

    /// Copies a shard's inputs and targets in ([batch * seqLen] each).
    public func load(tokens input: UnsafeBufferPointer<Int32>, targets target: UnsafeBufferPointer<Int32>) {
        precondition(input.count == tokenCount && target.count == tokenCount)
        tokens.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: input) }
        targets.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: target) }
        expertMask = nil
    }

    /// Restricts each token to a set of experts until the next `load`.
    public func restrictExperts(_ sets: [ExpertSet]) {
        precondition(sets.count == tokenCount && config.isMoE)
        expertMask = sets
    }
}
