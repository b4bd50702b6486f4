import TributaryCore

/// Draws training batches: windows of T+1 tokens at uniformly random offsets of the token stream
/// (in memory or on disk). The batch of step s depends only on (seed, s), so a resumed run sees
/// exactly the batches the uninterrupted run would have.
public struct Batcher: Sendable {
    public let source: any TokenSource
    public let batch: Int, seqLen: Int
    public let seed: UInt64

    public init(source: any TokenSource, batch: Int, seqLen: Int, seed: UInt64) throws {
        guard source.count > seqLen + 1 else {
            throw TributaryError("corpus.too_small", "the corpus has \(source.count) tokens, fewer than one sequence of \(seqLen + 1)")
        }
        self.source = source
        self.batch = batch
        self.seqLen = seqLen
        self.seed = seed
    }

    public init(stream: [Int32], batch: Int, seqLen: Int, seed: UInt64) throws {
        try self.init(source: InMemoryTokens(stream), batch: batch, seqLen: seqLen, seed: seed)
    }

    /// Where each window of step `step` starts in the stream.
    public func windowStarts(step: Int) -> [Int] {
        var rng = RNG(seed: seed &+ 0x5EED &* UInt64(step + 1))
        return (0..<batch).map { _ in rng.below(source.count - seqLen - 1) }
    }

    /// Inputs and targets, [batch * seqLen] each.
    public func batch(step: Int) -> (inputs: [Int32], targets: [Int32]) {
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(batch * seqLen)
        targets.reserveCapacity(batch * seqLen)
        for start in windowStarts(step: step) {
            let window = source.tokens(start..<start + seqLen + 1)
            inputs += window[0..<seqLen]
            targets += window[1...seqLen]
        }
        return (inputs, targets)
    }

    /// `labels` (one per token of the stream) at the inputs of step `step`'s batch, [batch * seqLen].
    public func labels(step: Int, of labels: [Int32]) -> [Int32] {
        precondition(labels.count == source.count, "one label per token of the stream")
        return windowStarts(step: step).flatMap { labels[$0..<$0 + seqLen] }
    }
}
