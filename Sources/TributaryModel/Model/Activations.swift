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
    /// Optional: router tuning's routing loss on these tokens (see `MoEWorkspace.RoutingLoss`).
    var routingLoss: MoEWorkspace.RoutingLoss?
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

    /// `training`: every layer from `keepFrom` up keeps its intermediates for the backward pass; the
    /// layers below it share one slot, as inference does for every layer (a backward pass that stops at
    /// layer `keepFrom` — expert training in layers 22-29 — never reads theirs).
    ///
    /// `throughLayer` (inference): every pass stops after that layer (`Model.forward(throughLayer:)`),
    /// so the residual streams above it and the logits are not allocated — reading layer 4 of
    /// SmolLM2's 30 for a routing query needed 700 MB of zeroed buffers otherwise, 40 MB so.
    public init(config c: ModelConfig, batch: Int, seqLen: Int, training: Bool = true, keepFrom: Int = 0, throughLayer: Int? = nil) {
        precondition(throughLayer == nil || !training, "a pass stopping at a layer is for inference")
        self.config = c
        self.batch = batch
        self.seqLen = seqLen
        let N = batch * seqLen, C = c.hiddenSize, F = c.intermediateSize, L = c.numLayers
        let W = c.qkvDim, Q = c.qDim
        forTraining = training
        self.keepFrom = training ? max(0, min(keepFrom, L - 1)) : 0
        self.throughLayer = throughLayer
        func many(_ count: Int, _ size: Int, used: Int = .max) -> [FloatBuffer] { (0..<count).map { FloatBuffer(count: $0 < used ? size : 0) } }
        tokens = [Int32](repeating: 0, count: N)
        targets = [Int32](repeating: 0, count: N)
        let streams = Self.streamsUsed(layers: L, throughLayer: throughLayer)
        resid = many(L + 1, N * C, used: streams.resid)
        mid = many(L, N * C, used: streams.mid)
        let slots = Self.slotLayers(config: c, training: training, keepFrom: self.keepFrom)
        let kept = slots.count
        ln1 = many(kept, N * C); rstd1 = many(kept, N)
        qkv = many(kept, N * W)
        probs = many(kept, batch * c.numHeads * seqLen * seqLen)
        att = many(kept, N * Q)
        ln2 = many(kept, N * C); rstd2 = many(kept, N)
        let moeLayers = Set(c.moeLayers)
        let needsDense = slots.map { $0.contains { !moeLayers.contains($0) } }
        let needsMoE = slots.map { $0.contains { moeLayers.contains($0) } }
        ffnH = needsDense.map { FloatBuffer(count: $0 ? N * 2 * F : 0) }
        ffnA = needsDense.map { FloatBuffer(count: $0 ? N * F : 0) }
        moe = needsMoE.map {
            $0 ? MoEWorkspace(tokens: N, hidden: C, intermediate: F, experts: c.numExperts, topK: c.expertsPerToken,
                              loraRank: training ? c.lora?.rank ?? 0 : 0) : nil
        }
        lnf = FloatBuffer(count: N * C); rstdf = FloatBuffer(count: N)
        logits = FloatBuffer(count: throughLayer == nil ? N * c.vocabSize : 0)
        let g = training ? 1 : 0
        dresid = FloatBuffer(count: g * N * C); dln = FloatBuffer(count: g * N * C); datt = FloatBuffer(count: g * N * Q)
        dqkv = FloatBuffer(count: g * N * W)
        dh = FloatBuffer(count: g * N * 2 * F); da = FloatBuffer(count: g * N * F)
        attnScratch = FloatBuffer(count: g * seqLen * seqLen)
    }

    /// For training (the backward pass reads them) or inference.
    let forTraining: Bool
    /// The layer every pass stops after, when the buffers above it were left out.
    let throughLayer: Int?

    /// Residual streams entering layers (and the output) and after attention that a pass through
    /// `throughLayer` writes: layer l < L reads resid[0...l] and mid[0...l].
    static func streamsUsed(layers L: Int, throughLayer: Int?) -> (resid: Int, mid: Int) {
        guard let stop = throughLayer, stop < L else { return (L + 1, L) }
        return (stop + 1, stop + 1)
    }
    /// The lowest layer with intermediates of its own (training).
    let keepFrom: Int

    /// The layers each slot serves: inference one slot for all; training one per layer from `keepFrom`,
    /// after one shared by the layers below it.
    static func slotLayers(config c: ModelConfig, training: Bool, keepFrom k: Int) -> [[Int]] {
        let L = c.numLayers
        guard training else { return [Array(0..<L)] }
        return (k > 0 ? [Array(0..<k)] : []) + (k..<L).map { [$0] }
    }

    /// Index of layer l's saved intermediates.
    @inline(__always) func slot(_ l: Int) -> Int {
        guard forTraining else { return 0 }
        return l < keepFrom ? 0 : l - keepFrom + (keepFrom > 0 ? 1 : 0)
    }

    /// Whether the backward pass may read layer l's intermediates.
    func keeps(_ l: Int) -> Bool { forTraining && l >= keepFrom }

    /// The Floats `init` allocates, from the shapes alone: training's memory estimate uses it before
    /// anything is allocated, and a test holds it to what `init` really allocates.
    public static func floatCount(config c: ModelConfig, batch: Int, seqLen: Int, training: Bool = true, keepFrom: Int = 0,
                                  throughLayer: Int? = nil) -> Int {
        let N = batch * seqLen, C = c.hiddenSize, F = c.intermediateSize, L = c.numLayers, W = c.qkvDim, Q = c.qDim
        let slots = slotLayers(config: c, training: training, keepFrom: training ? max(0, min(keepFrom, L - 1)) : 0)
        let moeLayers = Set(c.moeLayers)
        let streams = streamsUsed(layers: L, throughLayer: throughLayer)
        var n = streams.resid * N * C + streams.mid * N * C
        n += slots.count * (N * C + N + N * W + batch * c.numHeads * seqLen * seqLen + N * Q + N * C + N)
        for s in slots {
            if s.contains(where: { !moeLayers.contains($0) }) { n += N * 3 * F }
            if s.contains(where: { moeLayers.contains($0) }) {
                n += MoEWorkspace.floatCount(tokens: N, hidden: C, intermediate: F, experts: c.numExperts, topK: c.expertsPerToken,
                                           loraRank: training ? c.lora?.rank ?? 0 : 0)
            }
        }
        n += N * C + N + (throughLayer == nil ? N * c.vocabSize : 0)
        if training { n += 2 * N * C + N * Q + N * W + 3 * N * F + seqLen * seqLen }
        return n
    }

    /// The Floats this instance holds (for the test of `floatCount`).
    var allocatedFloats: Int {
        let lists = [resid, mid, ln1, rstd1, qkv, probs, att, ln2, rstd2, ffnH, ffnA]
        var n = lists.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        n += moe.reduce(0) { $0 + ($1?.allocatedFloats ?? 0) }
        n += [lnf, rstdf, logits, dresid, dln, datt, dqkv, dh, da, attnScratch].reduce(0) { $0 + $1.count }
        return n
    }

    /// Copies a shard's inputs and targets in ([batch * seqLen] each).
    public func load(tokens input: UnsafeBufferPointer<Int32>, targets target: UnsafeBufferPointer<Int32>) {
        precondition(input.count == tokenCount && target.count == tokenCount)
        tokens.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: input) }
        targets.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: target) }
        expertMask = nil
        routingLoss = nil
    }

    /// Adds the routing loss (weight `weight` per token) on these labels ([N]) until the next `load`.
    public func setRoutingLabels(_ labels: UnsafeBufferPointer<Int32>, weight: Float) {
        precondition(labels.count == tokenCount && config.isMoE)
        routingLoss = .init(labels: Array(labels), weight: weight)
    }

    /// Restricts each token to a set of experts until the next `load`.
    public func restrictExperts(_ sets: [ExpertSet]) {
        precondition(sets.count == tokenCount && config.isMoE)
        expertMask = sets
    }
}
