import TributaryCore

/// Draws training batches: windows of T+1 tokens at uniformly random offsets of the token stream.
/// The batch of step s depends only on (seed, s), so a resumed run sees exactly the batches the
/// uninterrupted run would have.
public struct Batcher: Sendable {
    public let stream: [Int32]
    public let batch: Int, seqLen: Int
    public let seed: UInt64

    public init(stream: [Int32], batch: Int, seqLen: Int, seed: UInt64) throws {
        guard stream.count > seqLen + 1 else {
            throw TributaryError("corpus.too_small", "the corpus has \(stream.count) tokens, fewer than one sequence of \(seqLen + 1)")
        }
        self.stream = stream
        self.batch = batch
        self.seqLen = seqLen
        self.seed = seed
    }

    /// Inputs and targets, [batch * seqLen] each.
    public func batch(step: Int) -> (inputs: [Int32], targets: [Int32]) {
        var rng = RNG(seed: seed &+ 0x5EED &* UInt64(step + 1))
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(batch * seqLen)
        targets.reserveCapacity(batch * seqLen)
        for _ in 0..<batch {
            let start = rng.below(stream.count - seqLen - 1)
            inputs += stream[start..<start + seqLen]
            targets += stream[start + 1..<start + seqLen + 1]
        }
        return (inputs, targets)
    }
}
