import Foundation
import TributaryCore

/// A Llama-style decoder (dense or MoE): its configuration and every weight in one flat buffer.
public final class Model: @unchecked Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    public let rope: RoPE
    /// How text becomes this model's token ids.
    public let tokenizer: Tokenizer

    public init(config: ModelConfig, parameters: FloatBuffer? = nil, tokenizer: Tokenizer = .bytes) {
        self.config = config
        self.tokenizer = tokenizer
        layout = ParameterLayout(config)
        if let parameters {
            precondition(parameters.count == layout.count, "parameter buffer has \(parameters.count) values, layout needs \(layout.count)")
            self.parameters = parameters
        } else {
            self.parameters = FloatBuffer(count: layout.count)
        }
        rope = RoPE(headDim: config.headDim, maxPositions: config.contextLength, theta: config.ropeTheta)
    }

    /// GPT-2 style initialisation: N(0, 0.02) for matrices, the residual-output projections scaled by
    /// 1/sqrt(2L), norms at 1. Deterministic for a seed.
    public static func initialised(config: ModelConfig, seed: UInt64) -> Model {
        let model = Model(config: config)
        var rng = RNG(seed: seed)
        let p = model.parameters.pointer
        let residualScale = 1 / (2 * Double(config.numLayers)).squareRoot()
        for t in model.layout.tensors {
            if t.shape.count == 1 {
                for i in 0..<t.count { p[t.offset + i] = 1 }
                continue
            }
            let isResidualOut = t.name.hasSuffix("o_proj.weight") || t.name.hasSuffix("down_proj.weight") || t.name.hasSuffix(".w2.weight")
            let std = 0.02 * (isResidualOut ? residualScale : 1)
            for i in 0..<t.count { p[t.offset + i] = Float(rng.normal() * std) }
        }
        return model
    }

    public func pointer(_ offset: Int) -> UnsafeMutablePointer<Float> { parameters.pointer + offset }

    public func values(of name: String) -> [Float]? {
        guard let t = layout.tensor(named: name) else { return nil }
        return parameters.slice(t.offset, t.count)
    }

    /// The MoE weights of layer l as the kernel wants them.
    func moeWeights(_ l: Int) -> MoEWorkspace.Weights {
        let ly = layout.layers[l]
        return MoEWorkspace.Weights(router: pointer(ly.router), w13: ly.expertW13.map(pointer), w2: ly.expertW2.map(pointer))
    }
}
