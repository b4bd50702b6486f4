/// Bounds on model shapes shared by every reader of untrusted files (bundles, statements, policies,
/// release configs, the command line), so that no reader accepts what another refuses.
public enum ModelBounds {
    /// Layers of a model: expert layer indices are below it, and an expert has at most this many.
    public static let maxLayers = 4096
    /// Width of a hidden state (`hidden_size`).
    public static let maxHidden = 1 << 16

    /// A set of expert layers: one or more strictly ascending indices, each below `bound` (a model's
    /// layer count) and below `maxLayers`.
    public static func isLayerSet(_ layers: [Int], below bound: Int = maxLayers) -> Bool {
        !layers.isEmpty && zip(layers, layers.dropFirst()).allSatisfy { $0 < $1 } && layers.allSatisfy { (0..<min(bound, maxLayers)).contains($0) }
    }
}
