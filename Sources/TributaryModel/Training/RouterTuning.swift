import TributaryCore

/// What router tuning does, fully determined: the operator publishes it so anyone can re-run it.
public struct RouterTuningRecipe: Sendable, Equatable {
    public enum ProxySource: String, Sendable {
        /// The owner's 2-expert model as published (the release restricted to the anchor and it).
        case ownerModel = "owner-model"
        /// The anchor with that expert as its only FFN in the expert layers: text the expert alone
        /// predicts, without the owner's router choosing the anchor for most of it.
        case expertAlone = "expert-alone"
    }

    public var seed: UInt64 = 1
    public var proxySource = ProxySource.expertAlone
    /// Proxy text: this many samples from each contributed expert's model…
    public var samplesPerExpert = 8
    /// …of at most this many tokens each, at this temperature, from the `topK` likeliest tokens.
    public var sampleTokens = 192
    public var temperature: Float = 1
    public var topK = 50
    public var steps = 12
    public var batchSize = 8
    public var seqLen = 192
    public var learningRate: Float = 1e-3
    /// Every this many steps a batch of public text (0: none), so public text keeps the anchor.
    public var publicEvery = 3
    /// Tuned rows end at most this many times the anchor's row of their layer: the bound the server's
    /// policy puts on contributed rows (`maxRouterRowRatio`) holds for the rows it tunes itself.
    public var maxRowRatio: Float = 4
    public init() {}

    public var json: JSONValue {
        .object([("seed", .uint64(seed)), ("proxySource", .string(proxySource.rawValue)), ("samplesPerExpert", .int(samplesPerExpert)), ("sampleTokens", .int(sampleTokens)),
                 ("temperature", .double(Double(temperature))), ("topK", .int(topK)), ("steps", .int(steps)),
                 ("batchSize", .int(batchSize)), ("seqLen", .int(seqLen)), ("learningRate", .double(Double(learningRate))),
                 ("publicEvery", .int(publicEvery)), ("maxRowRatio", .double(Double(maxRowRatio)))])
    }

    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("train.invalid_options", why) } }
        try check(samplesPerExpert >= 1 && sampleTokens >= 1, "router tuning needs at least one sample of at least one token per expert")
        try check(steps >= 1, "router tuning needs at least one step")
        try check(temperature >= 0 && temperature.isFinite && topK >= 1, "router tuning's sampling temperature must be ≥ 0 and its top-k ≥ 1")
        try check(publicEvery == 0 || publicEvery >= 2, "router tuning's public batch comes every 2nd step or less often (0: never)")
        try check(maxRowRatio > 0 && maxRowRatio.isFinite, "router tuning's row bound must be a positive number")
    }

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
    /// The proxy documents of expert e (1..<E), as token ids without framing: documents the expert
    /// writes from nothing (`Generator.continuation` of an empty text).
    public static func proxySamples(model: Model, expert e: Int, recipe r: RouterTuningRecipe) throws -> [[Int32]] {
        try r.validate()
        let restricted = r.proxySource == .ownerModel ? try ExpertAssembly.restricted(model, to: [0, e])
            : ExpertAssembly.dense(sharing: model, ffn: ExpertWeights(expert: e, of: model))
        return (0..<r.samplesPerExpert).map { i in
            Generator.continuationIDs(model: restricted, text: [], maxTokens: r.sampleTokens, temperature: r.temperature,
                                      topK: r.topK, seed: r.seed &* 1_000_003 &+ UInt64(e) &* 1009 &+ UInt64(i))
        }
    }

    /// A copy of `model` whose contributed router rows are tuned on `proxy` (token ids per document,
    /// every expert's samples) and, every `publicEvery` steps, on `publicText`.
    public static func tune(model: Model, proxy: [[Int32]], publicText: Corpus?, recipe r: RouterTuningRecipe,
                            progress: ProgressReporter?) throws -> (model: Model, training: TrainingResult) {
        try r.validate()
        guard model.config.isMoE, model.config.numExperts >= 2 else { throw TributaryError("train.tuning_not_moe", "router tuning needs a model with contributed experts") }
        let t = model.tokenizer
        let stream = proxy.flatMap { [t.documentStart] + $0 + [t.documentEnd] }
        guard stream.count > r.seqLen + 1 else {
            throw TributaryError("train.tuning_too_little_text", "the proxy samples hold \(stream.count) tokens, fewer than one window of \(r.seqLen)")
        }
        let tuned = try ExpertAssembly.withTopK(model, model.config.expertsPerToken)   // a copy to train
        let options = r.training
        let batcher = try Batcher(stream: stream, batch: options.batchSize, seqLen: options.seqLen, seed: options.seed)
        let replay = try publicText.flatMap { text -> Trainer.AuxiliaryBatches? in
            guard r.publicEvery > 0 else { return nil }
            return .init(batcher: try Batcher(stream: text.tokenStream(t), batch: options.batchSize, seqLen: options.seqLen, seed: options.seed &+ 7919),
                         every: r.publicEvery)
        }
        let trainer = try Trainer(model: tuned, mode: .routerRows(from: 1), options: options, batcher: batcher, auxiliary: replay,
                                  checkpointDirectory: nil, baseFingerprint: "router-tuning", dataFingerprint: "proxy")
        let result = try trainer.run(progress: progress)
        boundRows(tuned, ratio: r.maxRowRatio)
        return (tuned, result)
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
