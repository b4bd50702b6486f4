import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// DP-SGD's mechanism: per-document gradients, clipped to C, summed, noised with σ = zC, over a
/// Poisson sample of documents.
@Suite struct DPSGDTests {
    /// Documents shorter than a window: each gives all of itself, so the test can recompute it.
    static let shortTexts = ["abc def ghi", "jumps over", "quartz; vow!", "five dozen jugs"]

    func trainer(_ texts: [String], _ dp: DPSGDOptions, mode: Trainability.Mode = .full, steps: Int = 4) throws -> (Trainer, Model, [[Int32]]) {
        let model = Model.initialised(config: tinyConfig, seed: 4)
        let docs = texts.map { Tokenizer.bytes.document(Array($0.utf8)) }
        let text = corpus(pangrams)
        let trainer = try Trainer(model: model, mode: mode, options: tinyOptions(steps: steps),
                                  batcher: try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 1),
                                  dpSGD: (dp, try DocumentTokens(docs)), checkpointDirectory: nil, baseFingerprint: "t", dataFingerprint: "d")
        return (trainer, model, docs)
    }

    func gradient(_ t: Trainer) -> [Float] {
        var out = [Float]()
        for r in t.trainable.ranges { out += t.dp!.workers[0].sum.slice(r.offset, r.count) }
        return out
    }

    /// Without clipping (C far above every norm) and with negligible noise, the private gradient is
    /// the mean of the documents' own gradients, each computed here on its own.
    @Test func unclippedGradientIsTheMeanOfThePerDocumentGradients() throws {
        let (t, model, docs) = try trainer(Self.shortTexts, DPSGDOptions(samplingRate: 1, noiseMultiplier: 1e-12, clipNorm: 1e3, insecureSeed: 1))
        let (_, stats) = t.dpGradient(0, t.dp!)
        #expect(stats.documents == docs.count && stats.clipped == 0)
        let acts = Activations(config: model.config, batch: 1, seqLen: 32)
        let grads = FloatBuffer(count: model.layout.count, zeroed: true)
        var want = [Float](repeating: 0, count: model.layout.count)
        for d in docs {
            let n = d.count - 1
            let inputs = Array(d[0..<n]) + [Int32](repeating: d[n], count: 32 - n), targets = Array(d[1...n]) + [Int32](repeating: -1, count: 32 - n)
            inputs.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { acts.load(tokens: i, targets: $0) } }
            grads.zero(offset: 0, count: model.layout.count)
            _ = model.forward(acts, gradScale: 1 / Float(n))
            model.backward(acts, grads: grads, trainable: t.trainable)
            for i in 0..<want.count { want[i] += grads.pointer[i] / Float(docs.count) }
        }
        let got = gradient(t)
        var wantTrainable = [Float]()
        for r in t.trainable.ranges { wantTrainable += want[r.offset..<r.offset + r.count] }
        // The same arithmetic summed in another order (two workers), plus σ = 1e-9 noise.
        let worst = zip(got, wantTrainable).map { abs($0 - $1) / max(1e-3, abs($1)) }.max()!
        #expect(worst < 1e-4, "largest relative difference \(worst)")
        #expect(wantTrainable.contains { abs($0) > 1e-3 })
    }

    /// Clipping bounds each document: one document's gradient comes out at norm C exactly; four
    /// clipped documents sum to at most 4C.
    @Test func clippingBoundsEveryDocument() throws {
        let c = 1e-3
        let (one, _, _) = try trainer([Self.shortTexts[0]], DPSGDOptions(samplingRate: 1, noiseMultiplier: 1e-12, clipNorm: c, insecureSeed: 1))
        let (_, s1) = one.dpGradient(0, one.dp!)
        #expect(s1.clipped == 1)
        let norm1 = gradient(one).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        // Rounded down to stay within C: within a few Float roundings below it.
        #expect(norm1 <= c * (1 + 1e-9) && norm1 > c * (1 - 1e-5), "norm \(norm1)")
        let (four, _, _) = try trainer(Self.shortTexts, DPSGDOptions(samplingRate: 1, noiseMultiplier: 1e-12, clipNorm: c, insecureSeed: 1))
        let (_, s4) = four.dpGradient(0, four.dp!)
        #expect(s4.clipped == 4)
        // The mean of four vectors of norm C: at most C (equal only if they point the same way).
        let norm4 = gradient(four).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(norm4 <= c * (1 + 1e-9) && norm4 < norm1)
    }

    /// The noise has standard deviation zC / (qN) in every coordinate: two seeds differ by √2 of it.
    @Test func noiseHasTheDeclaredScale() throws {
        func run(_ seed: UInt64) throws -> [Float] {
            let (t, _, _) = try trainer(Self.shortTexts, DPSGDOptions(samplingRate: 1, noiseMultiplier: 2, clipNorm: 0.5, insecureSeed: seed))
            _ = t.dpGradient(0, t.dp!)
            return gradient(t)
        }
        let a = try run(1), b = try run(2)
        #expect(a.count > 10_000)
        let d = zip(a, b).map { Double($0 - $1) }
        let sd = (d.reduce(0) { $0 + $1 * $1 } / Double(d.count)).squareRoot()
        let want = 2.0.squareRoot() * 2 * 0.5 / 4
        // Over > 10,000 coordinates the sample deviation is within 3% of the true one (~5 standard errors).
        #expect(abs(sd - want) < 0.03 * want, "noise sd \(sd), expected \(want)")
    }

    /// Poisson sampling: each document independently at rate q, fresh every step; the CSPRNG path
    /// draws a different sample each time.
    @Test func documentsArePoissonSampled() {
        var total = 0, sizes = Set<Int>()
        for step in 0..<400 {
            var r = DPRandomness(insecureSeed: 7, step: step, stream: 0)
            var g = r.generator()
            let s = poissonSample(documents: 40, rate: 0.25, rng: &g)
            total += s.count
            sizes.insert(s.count)
        }
        // Mean 10, standard error √(40·0.25·0.75/400) ≈ 0.14: within 0.7 is five of them.
        #expect(abs(Double(total) / 400 - 10) < 0.7 && sizes.count > 5, "mean batch \(Double(total) / 400), sizes \(sizes.sorted())")
        var secure = DPRandomness(insecureSeed: nil, step: 0, stream: 0)
        var g1 = secure.generator(), g2 = secure.generator()
        #expect(poissonSample(documents: 200, rate: 0.5, rng: &g1) != poissonSample(documents: 200, rate: 0.5, rng: &g2))
        // A long document gives windows at different offsets.
        let long = try! DocumentTokens([Array(0..<Int32(200))])
        var offsets = Set<Int32>()
        for s in 0..<20 { var g = RNG(seed: UInt64(s)); offsets.insert(long.window(0, seqLen: 32, rng: &g).inputs[0]) }
        #expect(offsets.count > 10)
    }

    /// Public replay steps spend no privacy: a run's private steps exclude them.
    @Test func replayStepsAreNotPrivate() throws {
        let model = Model.initialised(config: tinyConfig, seed: 4)
        let text = corpus(pangrams)
        let b = try Batcher(stream: text.tokenStream(.bytes), batch: 4, seqLen: 32, seed: 1)
        let t = try Trainer(model: model, mode: .full, options: tinyOptions(steps: 12), batcher: b,
                            auxiliary: .init(batcher: b, every: 4),
                            dpSGD: (DPSGDOptions(samplingRate: 0.5, noiseMultiplier: 1, clipNorm: 1, insecureSeed: 1), try DocumentTokens([[1, 2, 3]])),
                            checkpointDirectory: nil, baseFingerprint: "t", dataFingerprint: "d")
        #expect(t.privateSteps == 9)
        #expect(throws: TributaryError.self) {
            _ = try Trainer(model: model, mode: .full, options: tinyOptions(steps: 2), batcher: b,
                            dpSGD: (DPSGDOptions(samplingRate: 0, noiseMultiplier: 1, clipNorm: 1), try DocumentTokens([[1, 2, 3]])),
                            checkpointDirectory: nil, baseFingerprint: "t", dataFingerprint: "d")
        }
    }

    /// A DP-SGD LoRA expert still learns at low noise, and only what trains changes.
    @Test func aDPSGDLoRAExpertTrains() throws {
        let anchor = try tinyAnchor(steps: 10)
        let texts = (0..<24).map { i in ["int main(void) { return \(i); }\n", "static int f\(i)(int a) { return a * 2; }\n"][i % 2] }
        let data = corpus(texts)
        let r = try ExpertTraining.train(anchor: anchor, data: data, routerRows: ownerRows(anchor, data), layers: [1], lora: try LoRAShape(rank: 4, alpha: 8),
                                         dpSGD: DPSGDOptions(samplingRate: 0.5, noiseMultiplier: 0.05, clipNorm: 1, insecureSeed: 3),
                                         options: tinyOptions(steps: 16, lr: 1e-2), checkpointDirectory: nil, restart: false, progress: nil)
        let early = r.training.losses.prefix(3).reduce(0, +) / 3, late = r.training.losses.suffix(3).reduce(0, +) / 3
        #expect(late < early, "losses \(r.training.losses)")
        for t in anchor.model.layout.tensors where !t.name.contains("mlp.") {
            #expect(differences(r.model.values(of: t.name)!, anchor.model.values(of: t.name)!) == 0, "\(t.name) changed")
        }
    }
}
