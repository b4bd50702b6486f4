/// What router tuning does, fully determined (protocol/SPEC.md §11.12): the operator's policy holds
/// it, each release's signed manifest records it, and an auditor re-runs it from the release's
/// logged token ids (`ReleaseLayout.routerTuningFile`).
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
    /// The public text replayed: the first this many tokens of the operator's public probe text, logged
    /// with the release so anyone can replay the tuning.
    public var publicTokens = 4096
    /// Tuned rows end at most this many times the anchor's row of their layer: the bound the server's
    /// policy puts on contributed rows (`maxRouterRowRatio`) holds for the rows it tunes itself.
    public var maxRowRatio: Float = 4
    /// The routing loss's weight beside the next-token loss on proxy text (0: none): per proxy token and
    /// expert layer, −log of the router's softmax mass on {anchor, the expert the text came from}, so an
    /// expert's rows learn to stay off the other experts' text and not only to win their own.
    public var routingLossWeight: Float = 0
    /// Sample this many candidates per expert and keep the `samplesPerExpert` the signatures place
    /// nearest that expert (protocol/SPEC.md §11.12); 0: keep every sample drawn.
    public var candidatesPerExpert = 0
    /// Samples drawn per expert.
    public var samplesDrawn: Int { max(samplesPerExpert, candidatesPerExpert) }
    public init() {}

    public var json: JSONValue {
        .object([("seed", .uint64(seed)), ("proxySource", .string(proxySource.rawValue)), ("samplesPerExpert", .int(samplesPerExpert)), ("sampleTokens", .int(sampleTokens)),
                 ("temperature", .double(Double(temperature))), ("topK", .int(topK)), ("steps", .int(steps)),
                 ("batchSize", .int(batchSize)), ("seqLen", .int(seqLen)), ("learningRate", .double(Double(learningRate))),
                 ("publicEvery", .int(publicEvery)), ("publicTokens", .int(publicTokens)), ("maxRowRatio", .double(Double(maxRowRatio)))]
                // Written only when used, so recipes logged before them keep their form.
                + (routingLossWeight == 0 ? [] : [("routingLossWeight", .double(Double(routingLossWeight)))])
                + (candidatesPerExpert == 0 ? [] : [("candidatesPerExpert", .int(candidatesPerExpert))]))
    }

    /// Floats are read as Float from their text, as they were written from a Float.
    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        func float(_ key: String) throws(JSONSchemaError) -> Float {
            guard case let .number(t) = try r.value(key), let f = Float(t), f.isFinite else { throw JSONSchemaError(path: "\(path).\(key)", problem: "expected a number") }
            return f
        }
        guard case let .number(s) = try r.value("seed"), let seed = UInt64(s) else { throw JSONSchemaError(path: "\(path).seed", problem: "expected an unsigned integer") }
        self.seed = seed
        guard let source = ProxySource(rawValue: try r.string("proxySource")) else {
            throw JSONSchemaError(path: "\(path).proxySource", problem: "expected expert-alone or owner-model")
        }
        proxySource = source
        samplesPerExpert = try r.int("samplesPerExpert", in: 1...4096)
        sampleTokens = try r.int("sampleTokens", in: 1...65_536)
        temperature = try float("temperature")
        topK = try r.int("topK", in: 1...1 << 20)
        steps = try r.int("steps", in: 1...1_000_000)
        batchSize = try r.int("batchSize", in: 1...4096)
        seqLen = try r.int("seqLen", in: 1...65_536)
        learningRate = try float("learningRate")
        publicEvery = try r.int("publicEvery", in: 0...1_000_000)
        publicTokens = try r.int("publicTokens", in: 0...1 << 24)
        maxRowRatio = try float("maxRowRatio")
        // Absent in recipes from before the routing loss: those tuned without it.
        if r.optionalValue("routingLossWeight") != nil { routingLossWeight = try float("routingLossWeight") }
        candidatesPerExpert = try r.optionalInt("candidatesPerExpert", in: 0...65_536) ?? 0
        try r.finish()
    }

    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("train.invalid_options", why) } }
        try check(samplesPerExpert >= 1 && sampleTokens >= 1, "router tuning needs at least one sample of at least one token per expert")
        try check(steps >= 1 && batchSize >= 1 && seqLen >= 1, "router tuning needs at least one step of at least one window")
        try check(temperature >= 0 && temperature.isFinite && topK >= 1, "router tuning's sampling temperature must be ≥ 0 and its top-k ≥ 1")
        try check(learningRate > 0 && learningRate.isFinite, "router tuning's learning rate must be a positive number")
        try check(publicEvery == 0 || publicEvery >= 2, "router tuning's public batch comes every 2nd step or less often (0: never)")
        try check(publicEvery == 0 || publicTokens > seqLen + 1, "router tuning's public text must hold more than one window (publicTokens > seqLen + 1)")
        try check(maxRowRatio > 0 && maxRowRatio.isFinite, "router tuning's row bound must be a positive number")
        try check(routingLossWeight >= 0 && routingLossWeight.isFinite, "router tuning's routing loss weight must be a number ≥ 0")
        try check(candidatesPerExpert == 0 || (candidatesPerExpert >= samplesPerExpert && candidatesPerExpert <= 4096),
                  "router tuning's candidates per expert must be 0 (keep every sample) or between the samples kept (\(samplesPerExpert)) and 4096")
    }
}
