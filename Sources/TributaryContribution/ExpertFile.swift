import TributaryCore
import TributaryModel

/// An expert as a bundle carries it: `expert.safetensors` (protocol/SPEC.md §3.1), per layer
/// `layers.{l}.w1/w2/w3.weight`.
extension ExpertWeights {
    /// Reads `expert.safetensors`, checking it fits `config` (its layers are layers of the model).
    public init(file: SafetensorsFile, config: ModelConfig) throws {
        let C = config.hiddenSize, F = config.intermediateSize
        let layout: ExpertLayout
        do { layout = try BundleLayout.expertLayout(of: file.header) } catch {
            throw TributaryError("model.shape_mismatch", "the expert's tensors: \(error)")
        }
        guard layout.layers.last! < config.numLayers else {
            throw TributaryError("model.shape_mismatch", "the expert has layers \(layout.layers), the anchor \(config.numLayers)")
        }
        var w1 = [[Float]](), w2 = [[Float]](), w3 = [[Float]]()
        for l in layout.layers {
            for (name, shape) in [(TensorNames.bundleW1(l), [F, C]), (TensorNames.bundleW2(l), [C, F]), (TensorNames.bundleW3(l), [F, C])] {
                let info = try file.info(name)
                guard info.shape == shape else {
                    throw TributaryError("model.shape_mismatch", "\(name) has shape \(info.shape), the anchor needs \(shape)")
                }
            }
            w1.append(try file.floats(TensorNames.bundleW1(l)))
            w2.append(try file.floats(TensorNames.bundleW2(l)))
            w3.append(try file.floats(TensorNames.bundleW3(l)))
        }
        self.init(layers: layout.layers, w1: w1, w2: w2, w3: w3)
    }

    /// Adds the expert's tensors under the bundle names.
    public func add(to writer: inout SafetensorsWriter, config: ModelConfig, dtype: SafetensorsWriter.OutputDType = .f32) {
        let C = config.hiddenSize, F = config.intermediateSize
        for (i, l) in layers.enumerated() {
            writer.add(TensorNames.bundleW1(l), shape: [F, C], values: w1[i], dtype: dtype)
            writer.add(TensorNames.bundleW2(l), shape: [C, F], values: w2[i], dtype: dtype)
            writer.add(TensorNames.bundleW3(l), shape: [F, C], values: w3[i], dtype: dtype)
        }
    }
}

extension TrainingSummary {
    /// What an owner reports about its FlexOlmo run (the statement's `training`).
    public init(flexOlmo r: TrainingResult, options: TrainingOptions) {
        self.init(recipe: "flexolmo-v1", steps: r.steps, tokens: r.steps * options.batchSize * options.seqLen,
                  batchSize: options.batchSize, contextLength: options.seqLen, learningRate: Double(options.learningRate),
                  seed: Int(truncatingIfNeeded: options.seed), finalLoss: r.finalLoss.isFinite ? r.finalLoss : 0)
    }
}
