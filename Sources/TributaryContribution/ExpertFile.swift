import TributaryCore
import TributaryModel

/// An expert as a bundle carries it: `expert.safetensors` (protocol/SPEC.md §3.1), per layer
/// `layers.{l}.w1/w2/w3.weight`, or a LoRA expert's factors `layers.{l}.w1/w2/w3.lora_A/lora_B.weight`.
extension ExpertWeights {
    /// Reads a full expert's `expert.safetensors`, checking it fits `config` (its layers are layers of the model).
    public init(file: SafetensorsFile, config: ModelConfig) throws {
        let C = config.hiddenSize, F = config.intermediateSize
        let layout = try Self.layout(of: file, config: config)
        guard layout.lora == nil else {
            throw TributaryError("model.shape_mismatch", "the expert is a LoRA update: it is read against the anchor's FFN")
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

    /// The expert a bundle's `expert.safetensors` adds to `anchor`: a full expert as it is, a LoRA
    /// expert materialised onto the anchor's FFN by the protocol's exact arithmetic (what a release holds).
    public init(file: SafetensorsFile, anchor: Model) throws {
        if try Self.layout(of: file, config: anchor.config).lora == nil {
            try self.init(file: file, config: anchor.config)
        } else {
            let factors = try LoRAFactors(file: file, config: anchor.config)
            self = try factors.materialised(onto: ExpertWeights(denseFFNOf: anchor, layers: factors.layers), config: anchor.config)
        }
    }

    /// The file's layout, its layers within the anchor's.
    static func layout(of file: SafetensorsFile, config: ModelConfig) throws -> ExpertLayout {
        let layout: ExpertLayout
        do { layout = try BundleLayout.expertLayout(of: file.header) } catch {
            throw TributaryError("model.shape_mismatch", "the expert's tensors: \(error)")
        }
        guard layout.layers.last! < config.numLayers else {
            throw TributaryError("model.shape_mismatch", "the expert has layers \(layout.layers), the anchor \(config.numLayers)")
        }
        guard layout.hiddenSize == config.hiddenSize, layout.intermediateSize == config.intermediateSize else {
            throw TributaryError("model.shape_mismatch", "the expert is for hidden size \(layout.hiddenSize) and intermediate size \(layout.intermediateSize), the anchor has \(config.hiddenSize) and \(config.intermediateSize)")
        }
        return layout
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

extension LoRAFactors {
    /// Reads a LoRA expert's `expert.safetensors` (format `tributary-expert-lora-v1`).
    public init(file: SafetensorsFile, config: ModelConfig) throws {
        let layout = try ExpertWeights.layout(of: file, config: config)
        guard let lora = layout.lora else { throw TributaryError("model.shape_mismatch", "the expert is a full expert, not a LoRA update") }
        func factor(_ l: Int, _ t: LoRATarget, _ f: String) throws -> [Float] { try file.floats(TensorNames.bundleLoRA(l, t.mixtralName, f)) }
        self.init(shape: lora, layers: layout.layers, a: try layout.layers.map { l in try lora.targets.map { try factor(l, $0, "A") } },
                  b: try layout.layers.map { l in try lora.targets.map { try factor(l, $0, "B") } })
    }

    /// Adds the factors under the bundle names (F32: the arithmetic is defined on them) and the
    /// `tributary.lora` metadata.
    public func add(to writer: inout SafetensorsWriter, config: ModelConfig) {
        for (i, l) in layers.enumerated() {
            for (j, t) in shape.targets.enumerated() {
                let s = t.shape(config)
                writer.add(TensorNames.bundleLoRA(l, t.mixtralName, "A"), shape: [shape.rank, s.in], values: a[i][j], dtype: .f32)
                writer.add(TensorNames.bundleLoRA(l, t.mixtralName, "B"), shape: [s.out, shape.rank], values: b[i][j], dtype: .f32)
            }
        }
        writer.metadata[LoRAParameters.metadataKey] = String(decoding: JSONWriter.serialize(shape.json), as: UTF8.self)
    }
}

extension TrainingSummary {
    /// What an owner reports about its FlexOlmo run (the statement's `training`).
    public init(flexOlmo r: TrainingResult, options: TrainingOptions, privacy: TrainingPrivacy? = nil) {
        self.init(recipe: "flexolmo-v1", steps: r.steps, tokens: r.steps * options.batchSize * options.seqLen,
                  batchSize: options.batchSize, contextLength: options.seqLen, learningRate: Double(options.learningRate),
                  seed: Int(truncatingIfNeeded: options.seed), finalLoss: r.finalLoss.isFinite ? r.finalLoss : 0, privacy: privacy)
    }
}
