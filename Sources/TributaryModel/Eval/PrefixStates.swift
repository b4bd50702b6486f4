import Foundation

/// The residual stream entering layer `layer` for every evaluation window of one corpus, recorded by
/// the first pass that uses it and read by every later pass of a model whose weights below `layer`
/// are the same bytes (checked, not assumed).
///
/// Why: every model an evaluation compares — the anchor, each owner's 2-expert model, the release
/// restricted to each expert set — shares the anchor's layers below the lowest expert layer. On
/// SmolLM2 with experts in layers 22–29 the later passes then cost 8 layers and the output head
/// instead of 30 layers and the head.
public final class PrefixStates: @unchecked Sendable {
    public let layer: Int
    private var source: Model?
    private var windowLength = 0
    /// The recorded windows' input tokens, all windows end to end: a later pass must read the same.
    private var inputs = [Int32]()
    private var states: FloatBuffer?
    /// Models already compared with the source (by identity): the comparison reads ~0.4 GB on SmolLM2.
    private var checked = [ObjectIdentifier: Bool]()
    private let lock = NSLock()

    public init(layer: Int) {
        precondition(layer >= 0)
        self.layer = layer
    }

    public var isRecorded: Bool { lock.withLock { states != nil } }

    /// Whether `model`'s pass over these windows can start at `layer` from the recorded states.
    func serves(_ model: Model, windows: [DocumentWindow]) -> Bool {
        lock.withLock {
            guard let source, states != nil, windows.first?.inputs.count == windowLength,
                  windows.flatMap(\.inputs) == inputs else { return false }
            let id = ObjectIdentifier(model)
            if let known = checked[id] { return known }
            let same = Self.sharesLayers(model, source, below: layer)
            checked[id] = same
            return same
        }
    }

    /// Same attention shapes, tokenizer and bytes for the embedding and layers 0..<layer, all dense.
    static func sharesLayers(_ a: Model, _ b: Model, below layer: Int) -> Bool {
        let x = a.config, y = b.config
        guard layer <= x.numLayers, layer <= y.numLayers, x.hiddenSize == y.hiddenSize, x.numHeads == y.numHeads,
              x.numKVHeads == y.numKVHeads, x.headDim == y.headDim, x.ropeTheta == y.ropeTheta,
              x.rmsNormEps == y.rmsNormEps, x.vocabSize == y.vocabSize,
              a.layout.embed == 0, b.layout.embed == 0,
              (0..<layer).allSatisfy({ !x.isExpertLayer($0) && !y.isExpertLayer($0) }) else { return false }
        // Embedding then layer after layer: the first `layer` layers form one contiguous prefix.
        let end = layer < x.numLayers ? a.layout.layers[layer].attnNorm : a.layout.finalNorm
        let endB = layer < y.numLayers ? b.layout.layers[layer].attnNorm : b.layout.finalNorm
        guard end == endB else { return false }
        return memcmp(a.parameters.pointer, b.parameters.pointer, end * MemoryLayout<Float>.size) == 0
    }

    /// Prepares to record the states of `model`'s pass over `windows` (once; false when already recorded).
    func startRecording(_ model: Model, windows: [DocumentWindow]) -> Bool {
        lock.withLock {
            guard states == nil, layer <= model.config.numLayers, let length = windows.first?.inputs.count else { return false }
            source = model
            windowLength = length
            inputs = windows.flatMap(\.inputs)
            states = FloatBuffer(count: windows.count * length * model.config.hiddenSize)
            checked[ObjectIdentifier(model)] = true
            return true
        }
    }

    /// Copies the states of `count` windows starting at `first` out of (`record`) or into `acts`.
    func copy(_ acts: Activations, first: Int, count: Int, record: Bool) {
        guard let states else { return }
        let n = windowLength * acts.config.hiddenSize
        let resid = acts.resid[layer].pointer
        for j in 0..<count {
            let stored = states.pointer + (first + j) * n, live = resid + j * n
            if record { stored.update(from: live, count: n) } else { live.update(from: stored, count: n) }
        }
    }
}
