import Foundation

/// A training run's peak memory from its shapes alone, before a byte is allocated: `tributary train`
/// refuses a run that cannot fit (with the default options SmolLM2 ran until the kernel killed it at
/// 23.5 GB) and chooses its default batch and sequence length from it. Resident bytes, by part.
public struct TrainingMemory: Sendable, Equatable, CustomStringConvertible {
    /// The frozen source model (the anchor) and the model trained.
    public var weights: Int
    /// AdamW's two moments and every worker's gradients of the trained parameters (gradient buffers
    /// are touched only where something trains).
    public var optimizer: Int
    /// Every worker's activations (`Activations.floatCount`), logits included.
    public var activations: Int
    /// The logits among them, [tokens, vocabulary] per worker: with a large vocabulary the biggest part.
    public var logits: Int
    /// Token streams (private and public text) and the process's own overhead.
    public var other: Int

    public var total: Int { weights + optimizer + activations + other }

    /// The run that trains `trainable` of `model`'s parameters (its layout) from a frozen source of
    /// `sourceParameters` Floats, with `options`, on `dataTokens` tokens of text.
    public static func estimate(model: ModelConfig, mode: Trainability.Mode, sourceParameters: Int, options: TrainingOptions,
                                dataTokens: Int) -> TrainingMemory {
        let layout = ParameterLayout(model)
        let trainable = Trainability(layout: layout, mode: mode)
        let per = max(1, options.batchSize / max(options.workers, 1))
        let acts = Activations.floatCount(config: model, batch: per, seqLen: options.seqLen, training: true, keepFrom: trainable.lowestBackwardLayer)
        // Measured: the Swift runtime, OpenBLAS's buffers and the code itself hold about 200 MiB.
        return TrainingMemory(weights: 4 * (sourceParameters + layout.count), optimizer: 4 * trainable.trainableCount * (2 + options.workers),
                              activations: 4 * acts * options.workers, logits: 4 * per * options.seqLen * model.vocabSize * options.workers,
                              other: 4 * dataTokens + (200 << 20))
    }

    /// `1.5 GiB`, or `230 MiB` below a gibibyte.
    public static func gib(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    }

    public var description: String {
        "\(Self.gib(total)) (weights \(Self.gib(weights)), optimizer and gradients \(Self.gib(optimizer)), activations \(Self.gib(activations)) of which logits \(Self.gib(logits)))"
    }

    /// The physical memory of this machine, and the default budget: three quarters of it, so the rest
    /// of the system keeps room.
    public static var physical: Int { Int(ProcessInfo.processInfo.physicalMemory) }
    public static var defaultBudget: Int { physical / 4 * 3 }
}
