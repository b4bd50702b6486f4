import TributaryCore

/// A LoRA update of one expert of a model (LoRA, Hu et al. 2021, with PEFT's conventions; the
/// hyperparameters are the protocol's `LoRAParameters`): each targeted projection W [out, in] of the
/// expert is the anchor's FFN weight W0 plus scale · B [out, r] · A [r, in], scale = alpha / r. Only A
/// and B train. The base is always the anchor's FFN, which every Tributary model keeps as expert 0.
public struct LoRAShape: Equatable, Sendable, CustomStringConvertible {
    public typealias Target = LoRATarget

    /// The expert the update belongs to (never 0, the anchor's own FFN).
    public let expert: Int
    public let parameters: LoRAParameters

    public init(expert: Int = 1, _ parameters: LoRAParameters) throws {
        guard expert >= 1 else { throw TributaryError("model.invalid_lora", "a LoRA update belongs to a contributed expert, not expert \(expert)") }
        self.expert = expert
        self.parameters = parameters
    }

    public init(expert: Int = 1, rank: Int, alpha: Float, targets: [Target] = Target.allCases) throws {
        try self.init(expert: expert, try LoRAParameters(rank: rank, alpha: alpha, targets: targets))
    }

    public var rank: Int { parameters.rank }
    public var alpha: Float { parameters.alpha }
    public var targets: [Target] { parameters.targets }
    public var scale: Float { parameters.scale }

    /// The factors' Floats per expert layer.
    public func factorCount(_ c: ModelConfig) -> Int {
        targets.reduce(0) { n, t in let s = t.shape(c); return n + rank * (s.in + s.out) }
    }

    public var description: String { parameters.description }
}

extension LoRATarget {
    /// [out, in] of the projection's weight in a model of `c`.
    public func shape(_ c: ModelConfig) -> (out: Int, in: Int) { shape(hidden: c.hiddenSize, intermediate: c.intermediateSize) }
}
