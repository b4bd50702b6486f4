import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// Passes that start from recorded layer states give the scores of the whole pass, and only models
/// whose lower layers are the recording model's bytes are served from them.
@Suite struct PrefixStatesTests {
    let config = ModelConfig(hiddenSize: 32, numLayers: 3, numHeads: 2, intermediateSize: 64, contextLength: 32)

    func corpus() -> Corpus {
        var rng = RNG(seed: 9)
        // Longer than the context, so documents span several windows and batches are padded.
        return Corpus(documents: (0..<3).map { d in
            .init(source: "doc\(d)", bytes: (0..<(50 + d * 13)).map { _ in UInt8(97 + rng.next() % 20) })
        })
    }

    /// A copy of `model` with the first weight of `tensor` changed.
    func changed(_ model: Model, _ tensor: String) -> Model {
        let copy = FloatBuffer(count: model.parameters.count)
        copy.pointer.update(from: model.parameters.pointer, count: model.parameters.count)
        copy.pointer[model.layout.tensor(named: tensor)!.offset] += 0.5
        return Model(config: model.config, parameters: copy, tokenizer: model.tokenizer)
    }

    func maxDiff(_ a: TokenScores, _ b: TokenScores) -> Float {
        zip(a.logProbs, b.logProbs).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
    }

    @Test func laterPassesStartAtTheSharedLayerAndScoreTheSame() {
        let anchor = Model.initialised(config: config, seed: 1), text = corpus()
        let upper = changed(anchor, TensorNames.mlpDown(2))   // differs in layer 2 only
        let lower = changed(anchor, TensorNames.mlpDown(0))   // differs in layer 0
        let prefix = PrefixStates(layer: 2)
        let recorded = Evaluator.tokenScores(model: anchor, corpus: text, prefix: prefix, batch: 2, workers: 2)
        #expect(prefix.isRecorded)
        // The recording pass is an ordinary pass (same kernels, same order: equal to rounding).
        #expect(maxDiff(recorded, Evaluator.tokenScores(model: anchor, corpus: text, batch: 2, workers: 2)) < 1e-5)
        let windows = Windows.make(text, tokenizer: anchor.tokenizer, seqLen: config.windowLength)
        #expect(prefix.serves(upper, windows: windows))
        #expect(!prefix.serves(lower, windows: windows))
        // Layer 2's change shows in its scores, whichever way they are computed; 1e-5 allows for
        // BLAS summing a different batch split in another order.
        let upperFull = Evaluator.tokenScores(model: upper, corpus: text, batch: 2, workers: 2)
        #expect(maxDiff(upperFull, recorded) > 1e-3)
        #expect(maxDiff(Evaluator.tokenScores(model: upper, corpus: text, prefix: prefix, batch: 3, workers: 1), upperFull) < 1e-5)
        // A model with other lower layers runs the whole pass and gets its own scores.
        let lowerFull = Evaluator.tokenScores(model: lower, corpus: text, batch: 2, workers: 2)
        #expect(maxDiff(Evaluator.tokenScores(model: lower, corpus: text, prefix: prefix, batch: 2, workers: 2), lowerFull) < 1e-5)
        // Other text is not served from these states.
        var other = text
        other.documents[0] = .init(source: "other", bytes: Array(text.documents[0].bytes.reversed()))
        #expect(!prefix.serves(upper, windows: Windows.make(other, tokenizer: anchor.tokenizer, seqLen: config.windowLength)))
    }

    @Test func onlyDenseEqualLowerLayersAreShared() {
        let a = Model.initialised(config: config, seed: 1)
        #expect(PrefixStates.sharesLayers(a, a, below: 3))
        #expect(PrefixStates.sharesLayers(a, changed(a, TensorNames.finalNorm), below: 3))
        #expect(!PrefixStates.sharesLayers(a, changed(a, TensorNames.embedTokens), below: 1))
        #expect(!PrefixStates.sharesLayers(a, Model.initialised(config: config, seed: 2), below: 0))   // embeddings differ
        var wider = config
        wider.hiddenSize = 64
        #expect(!PrefixStates.sharesLayers(a, Model.initialised(config: wider, seed: 1), below: 0))
    }
}
