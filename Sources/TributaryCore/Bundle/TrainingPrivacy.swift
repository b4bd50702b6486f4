import Foundation

/// How an expert was trained with DP-SGD, as the owner declares it in the statement (`training.privacy`),
/// and the (ε, δ) of the whole contribution: the training steps composed with the routing signature's
/// releases by one RDP accountant. A server cannot see whether training really ran as declared (the
/// owner's signature attests it, as it attests the data); it recomputes the arithmetic.
public struct TrainingPrivacy: Equatable, Sendable {
    public static let mechanismName = "dp-sgd-poisson-gaussian"
    /// Every document joins a step's batch independently with this probability.
    public var samplingRate: Double
    public var noiseMultiplier: Double
    public var clipNorm: Double
    /// The DP-SGD steps (public replay steps spend nothing and are not counted).
    public var privateSteps: Int
    /// The private documents sampled from.
    public var documents: Int
    /// (ε, δ) of everything the contribution publishes: the expert, its router rows, the signature.
    public var epsilon: Double
    public var delta: Double

    public init(samplingRate: Double, noiseMultiplier: Double, clipNorm: Double, privateSteps: Int, documents: Int, epsilon: Double, delta: Double) {
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.privateSteps = privateSteps
        self.documents = documents
        self.epsilon = epsilon
        self.delta = delta
    }

    public var json: JSONValue {
        .object([("mechanism", .string(Self.mechanismName)), ("unit", .string("document")), ("accountant", .string("rdp")),
                 ("samplingRate", .double(samplingRate)), ("noiseMultiplier", .double(noiseMultiplier)), ("clipNorm", .double(clipNorm)),
                 ("privateSteps", .int(privateSteps)), ("documents", .int(documents)),
                 ("epsilon", .double(epsilon)), ("delta", .double(delta))])
    }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        guard try r.label("mechanism") == Self.mechanismName else { throw JSONSchemaError(path: "\(path).mechanism", problem: "must be \"\(Self.mechanismName)\"") }
        guard try r.label("unit") == "document" else { throw JSONSchemaError(path: "\(path).unit", problem: "must be \"document\"") }
        guard try r.label("accountant") == "rdp" else { throw JSONSchemaError(path: "\(path).accountant", problem: "must be \"rdp\"") }
        samplingRate = try r.double("samplingRate")
        noiseMultiplier = try r.double("noiseMultiplier")
        clipNorm = try r.double("clipNorm")
        privateSteps = try r.int("privateSteps", in: 1...10_000_000)
        documents = try r.int("documents", in: 1...Int(Int32.max))
        epsilon = try r.double("epsilon")
        delta = try r.double("delta")
        try r.finish()
        guard samplingRate > 0, samplingRate <= 1 else { throw JSONSchemaError(path: "\(path).samplingRate", problem: "must be in (0, 1]") }
        guard noiseMultiplier.isNormal, noiseMultiplier > 0, noiseMultiplier < 1e6 else { throw JSONSchemaError(path: "\(path).noiseMultiplier", problem: "must be a positive number below 1e6") }
        guard clipNorm.isNormal, clipNorm > 0 else { throw JSONSchemaError(path: "\(path).clipNorm", problem: "must be positive") }
        guard epsilon.isFinite, epsilon > 0 else { throw JSONSchemaError(path: "\(path).epsilon", problem: "must be positive") }
        guard delta > 0, delta < 1 else { throw JSONSchemaError(path: "\(path).delta", problem: "must be in (0, 1)") }
    }
}

extension ContributionPredicate {
    /// The ε of the whole contribution at its δ, recomputed from the statement: the signature's
    /// releases (`RoutingParameters.accountant`) and the DP-SGD steps in one RDP accountant. Throws
    /// when the expert was not DP-trained, the signature is not private, or the two δ differ.
    public func recomputedContributionEpsilon() throws(PrivacyCheckError) -> Double {
        guard let t = training.privacy else { throw .notPrivate }
        var acc = try routing.accountant()
        guard routing.privacy.delta == t.delta else { throw .deltaMismatch(signature: routing.privacy.delta ?? 0, training: t.delta) }
        acc.addSampledGaussian(samplingRate: t.samplingRate, noiseMultiplier: t.noiseMultiplier, count: t.privateSteps)
        return acc.epsilon(delta: t.delta).epsilon
    }

    /// The ε this contribution spends: the composed total when the expert is DP-trained, else the
    /// signature's (its expert weights then have no DP guarantee; SPEC §6.4). Nil without DP at all.
    public var spentEpsilon: Double? {
        training.privacy?.epsilon ?? (routing.privacy.enabled ? routing.privacy.epsilon : nil)
    }
}
