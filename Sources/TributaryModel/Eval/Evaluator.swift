import Foundation

public struct Evaluation: Sendable, Equatable {
    public let bits: Double
    public let bytes: Int
    public let tokens: Int
    public var bitsPerByte: Double { bits / Double(max(bytes, 1)) }
}

/// Bits per byte and hidden-state statistics over whole documents, sharded across cores.
public enum Evaluator {
    /// Runs `body(worker, activations, windows)` over shards of the windows, `batch` windows at a time.
    /// `shouldStop` is asked before each batch: work for a client that left ends there. `allowed`:
    /// the experts every token may choose among (a withdrawn expert is left out at once).
    /// `throughLayer`: every pass `body` runs stops after that layer (the activations above it are not allocated).
    static func sweep(model: Model, windows: [DocumentWindow], batch: Int, workers: Int, allowed: ExpertSet = .all, throughLayer: Int? = nil,
                      shouldStop: () -> Bool = { false }, body: (Int, Activations, ArraySlice<DocumentWindow>) -> Void) {
        guard !windows.isEmpty else { return }
        let T = windows[0].inputs.count
        // Few windows: smaller batches, so every worker gets some.
        let batch = max(1, min(batch, (windows.count + workers - 1) / max(workers, 1)))
        let w = max(1, min(workers, (windows.count + batch - 1) / batch))
        parallelFor(w) { worker in
            let acts = Activations(config: model.config, batch: batch, seqLen: T, training: false, throughLayer: throughLayer)
            var i = worker * batch
            while i < windows.count && !shouldStop() {
                let chunk = windows[i..<min(i + batch, windows.count)]
                var inp = chunk.flatMap(\.inputs), tgt = chunk.flatMap(\.targets)
                if chunk.count < batch {
                    inp += [Int32](repeating: model.tokenizer.padding, count: (batch - chunk.count) * T)
                    tgt += [Int32](repeating: Windows.padding, count: (batch - chunk.count) * T)
                }
                inp.withUnsafeBufferPointer { a in tgt.withUnsafeBufferPointer { acts.load(tokens: a, targets: $0) } }
                if allowed != .all { acts.restrictExperts([ExpertSet](repeating: allowed, count: acts.tokenCount)) }
                body(worker, acts, chunk)
                i += w * batch
            }
        }
    }

    /// Total bits of every predicted token (the text's and the end token) divided by the number of
    /// bytes of the text: comparable across tokenizers.
    public static func evaluate(model: Model, corpus: Corpus, seqLen: Int? = nil, batch: Int = 8, workers: Int = 2,
                                allowed: ExpertSet = .all) -> Evaluation {
        let T = seqLen ?? model.config.windowLength
        let windows = Windows.make(corpus, tokenizer: model.tokenizer, seqLen: T)
        var nats = [Double](repeating: 0, count: workers)
        nats.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            sweep(model: model, windows: windows, batch: batch, workers: workers, allowed: allowed) { worker, acts, _ in
                o[worker] += model.forward(acts)
            }
        }
        let tokens = windows.reduce(0) { $0 + $1.targets.filter { $0 >= 0 }.count }
        let bytes = corpus.totalBytes
        return Evaluation(bits: nats.reduce(0, +) / log(2), bytes: bytes, tokens: tokens)
    }
}
