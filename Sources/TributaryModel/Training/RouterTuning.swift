import TributaryCore

extension RouterTuningRecipe {
    var training: TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps
        o.batchSize = batchSize
        o.seqLen = seqLen
        o.learningRate = learningRate
        o.warmupSteps = min(2, steps - 1)
        o.seed = seed
        o.checkpointEvery = 0
        return o
    }
}

/// FlexOlmo's router tuning ("RT"), done by the operator without any private data: the proxy text is
/// sampled from what each contributor published (its expert alone in the anchor, or its 2-expert
/// model), so the router learns from each expert what text it is good at. Only the contributed experts' router rows train; the anchor's row, every expert and
/// every shared weight stay as they are, so opting out still removes exactly one expert and its rows.
public enum RouterTuning {
    /// The proxy documents of expert e (1..<E), `samplesDrawn` of them, as token ids without framing:
    /// documents the expert writes from nothing (`Generator.continuation` of an empty text). `key` (a release passes the
    /// contribution's log index) seeds them, so an expert's samples do not depend on its position.
    public static func proxySamples(model: Model, expert e: Int, key: UInt64? = nil, recipe r: RouterTuningRecipe) throws -> [[Int32]] {
        try r.validate()
        let restricted = r.proxySource == .ownerModel ? try ExpertAssembly.restricted(model, to: [0, e])
            : ExpertAssembly.dense(sharing: model, ffn: ExpertWeights(expert: e, of: model))
        // Decoded together: one pass per token for all of them (decoding is bound by reading the weights).
        let seeds = (0..<r.samplesDrawn).map { i in r.seed &* 1_000_003 &+ (key ?? UInt64(e)) &* 1009 &+ UInt64(i) }
        return Generator.continuationIDs(model: restricted, texts: seeds.map { _ in [] }, maxTokens: r.sampleTokens,
                                         temperature: r.temperature, topK: r.topK, seeds: seeds)
    }

    /// A copy of `model` whose contributed router rows are tuned on `proxy` (token ids per document,
    /// every expert's samples; `proxyExperts[i]` is the expert (1…) document i came from) and, every
    /// `publicEvery` steps, on the public token stream `publicTokens`. The loss on proxy batches is the
    /// next-token loss plus, with `routingLossWeight` > 0, the routing loss: each proxy token should
    /// be routed within {anchor, its own expert} (`MoEWorkspace.RoutingLoss`).
    /// Every batch is a function of these ids and the recipe (`Batcher`'s integer RNG), so the tuning
    /// replays from what the release logs.
    public static func tune(model: Model, proxy: [[Int32]], proxyExperts: [Int], publicTokens: [Int32]?, recipe r: RouterTuningRecipe,
                            progress: ProgressReporter?) throws -> (model: Model, training: TrainingResult) {
        try r.validate()
        guard model.config.isMoE, model.config.numExperts >= 2 else { throw TributaryError("train.tuning_not_moe", "router tuning needs a model with contributed experts") }
        guard proxyExperts.count == proxy.count, proxyExperts.allSatisfy({ (1..<model.config.numExperts).contains($0) }) else {
            throw TributaryError("train.invalid_options", "router tuning needs the contributed expert (1..<\(model.config.numExperts)) of each of the \(proxy.count) proxy documents")
        }
        let t = model.tokenizer
        let stream = proxyStream(proxy, tokenizer: t)
        guard stream.count > r.seqLen + 1 else {
            throw TributaryError("train.tuning_too_little_text", "the proxy samples hold \(stream.count) tokens, fewer than one window of \(r.seqLen)")
        }
        let tuned = try ExpertAssembly.withTopK(model, model.config.expertsPerToken)   // a copy to train
        let options = r.training
        let batcher = try Batcher(stream: stream, batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        let replay = try publicTokens.flatMap { stream -> Trainer.AuxiliaryBatches? in
            guard r.publicEvery > 0 else { return nil }
            return .init(batcher: try Batcher(stream: stream, batch: options.batchSize, seqLen: options.seqLen, seed: options.seed &+ 7919),
                         every: r.publicEvery)
        }
        let routing = r.routingLossWeight > 0
            ? Trainer.RoutingLabels(labels: zip(proxy, proxyExperts).flatMap { Array(repeating: Int32($1), count: $0.count + 2) }, weight: r.routingLossWeight)
            : nil
        let trainer = try Trainer(model: tuned, mode: .routerRows(from: 1), options: options, batcher: batcher, auxiliary: replay, routing: routing,
                                  checkpointDirectory: nil, baseFingerprint: "router-tuning", dataFingerprint: "proxy")
        let result = try trainer.run(progress: progress)
        boundRows(tuned, ratio: r.maxRowRatio)
        return (tuned, result)
    }

    /// The proxy documents as one token stream, each framed as a document.
    public static func proxyStream(_ proxy: [[Int32]], tokenizer t: Tokenizer) -> [Int32] {
        proxy.flatMap { [t.documentStart] + $0 + [t.documentEnd] }
    }

    /// The public text's first `count` tokens as one stream (documents framed), what tuning replays.
    public static func publicStream(_ text: Corpus, tokenizer t: Tokenizer, count: Int) -> [Int32] {
        Array(text.tokenStream(t).prefix(count))
    }

    /// Scales every contributed router row down to at most `ratio` times the anchor's row (row 0) of
    /// its layer; rows within the bound are untouched.
    static func boundRows(_ model: Model, ratio: Float) {
        let C = model.config.hiddenSize, E = model.config.numExperts
        for ly in model.layout.layers where ly.isMoE {
            let router = model.pointer(ly.router)
            let limit = ratio * FastMath.dot(router, router, C).squareRoot()
            for e in 1..<E {
                let row = router + e * C
                let n = FastMath.dot(row, row, C).squareRoot()
                if n > limit { for i in 0..<C { row[i] *= limit / n } }
            }
        }
    }
}
