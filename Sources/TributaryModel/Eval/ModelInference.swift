/// Single-sequence conveniences on top of `Model.forward`.
public enum ModelInference {
    /// Logits for every position of one sequence (at most the model's context), [T][V].
    public static func logits(model: Model, tokens: [Int32]) -> [[Float]] {
        precondition(!tokens.isEmpty && tokens.count <= model.config.contextLength)
        let acts = Activations(config: model.config, batch: 1, seqLen: tokens.count, training: false)
        let pad = [Int32](repeating: Windows.padding, count: tokens.count)
        tokens.withUnsafeBufferPointer { t in pad.withUnsafeBufferPointer { acts.load(tokens: t, targets: $0) } }
        model.forward(acts, computeLoss: false)
        let V = model.config.vocabSize
        return (0..<tokens.count).map { Array(UnsafeBufferPointer(start: acts.logits.pointer + $0 * V, count: V)) }
    }
}
