import TributaryCore

public struct TrainingOptions: Sendable, Equatable {
    public var steps = 1000
    public var batchSize = 32
    public var seqLen = 128
    public var learningRate: Float = 1e-3
    /// The router rows' peak learning rate when it differs from `learningRate` (same schedule): a LoRA
    /// owner's factors want a rate several times a full expert's, its router row does not.
    public var routerLearningRate: Float? = nil
    public var minLRFraction: Float = 0.1
    public var warmupSteps = 50
    public var weightDecay: Float = 0.1
    public var gradClip: Float = 1.0
    public var seed: UInt64 = 1
    /// Data-parallel workers; the batch is split evenly between them. Part of the fingerprint,
    /// because the order of gradient summation (and so the last bits of every weight) depends on it.
    public var workers = 2
    /// Save a checkpoint every this many steps (0: never).
    public var checkpointEvery = 100
    public var keepCheckpoints = 2
    /// For tests and kill drills: stop (as if killed) after this many steps.
    public var stopAfter: Int? = nil
    /// Gradient ascent instead of descent. Exists only to build a deliberately harmful expert, the
    /// kind the server's probe must refuse (its tests do exactly that).
    public var maximiseLoss = false

    public init() {}

    public var json: JSONValue {
        .object([("steps", .int(steps)), ("batchSize", .int(batchSize)), ("seqLen", .int(seqLen)),
                 ("learningRate", .double(Double(learningRate))), ("minLRFraction", .double(Double(minLRFraction))),
                 ("warmupSteps", .int(warmupSteps)), ("weightDecay", .double(Double(weightDecay))),
                 ("gradClip", .double(Double(gradClip))), ("seed", .uint64(seed)), ("workers", .int(workers)),
                 ("maximiseLoss", .bool(maximiseLoss))]
                // Written only when set, so checkpoints of runs without it keep their fingerprint.
                + (routerLearningRate.map { [("routerLearningRate", .double(Double($0)))] } ?? []))
    }

    public func validate(contextLength: Int) throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("train.invalid_options", why) } }
        try check(steps > 0, "--steps must be positive")
        try check(batchSize > 0 && workers > 0 && batchSize % workers == 0, "--batch \(batchSize) must be a positive multiple of --threads \(workers)")
        try check(seqLen > 1 && seqLen <= contextLength, "--seq-len \(seqLen) must be in 2...\(contextLength) (the model's context)")
        try check(learningRate > 0 && learningRate.isFinite, "--lr must be positive")
        try check(routerLearningRate.map { $0 > 0 && $0.isFinite } ?? true, "--router-lr must be positive")
        try check(warmupSteps >= 0 && gradClip > 0 && weightDecay >= 0, "warmup, clip and weight decay must be non-negative")
    }
}
