import Testing
import TributaryCore
@testable import TributaryModel

/// The decoder feeding several sequences in one pass, a prompt as many rows, products split across
/// cores: each sequence must still get the logits of the full forward pass over its own tokens.
@Suite struct BatchedDecodingTests {
    static func perturbed(_ config: ModelConfig, seed: UInt64) -> Model {
        let m = Model.initialised(config: config, seed: seed)
        var rng = RNG(seed: seed + 1)
        for i in 0..<m.parameters.count { m.parameters[i] += Float(rng.normal() * 0.1) }
        return m
    }

    @Test(arguments: ReferenceLogitsTests.configs.indices)
    func everySequenceGetsItsOwnForwardPass(configIndex: Int) throws {
        let (name, config) = ReferenceLogitsTests.configs[configIndex]
        let m = Self.perturbed(config, seed: 21)
        let texts: [[Int32]] = [[256, 84, 114, 105, 98, 117, 116, 97, 114, 121], [256, 10, 0, 255, 3], [256, 33, 33, 33, 65, 66, 67, 68]]
        let full = texts.map { ReferenceLogitsTests().ourLogits(m, $0) }
        let d = Decoder(model: m, sequences: texts.count, maxRows: 8)
        var worst = 0.0
        // Sequence 0's first 6 tokens as one pass of 6 rows, then every sequence one row a pass:
        // sequence 0 continuing, 1 and 2 starting (1 ends first, so later passes leave it out).
        d.prefill(0, texts[0].prefix(6))
        for v in 0..<config.vocabSize { worst = max(worst, abs(Double(d.sequenceLogits(0)[v]) - full[0][5][v])) }
        var fed = [6, 0, 0]
        while fed.indices.contains(where: { fed[$0] < texts[$0].count }) {
            let rows = fed.indices.filter { fed[$0] < texts[$0].count }.map { (sequence: $0, token: texts[$0][fed[$0]]) }
            d.feed(rows)
            for r in rows {
                let want = full[r.sequence][fed[r.sequence]]
                for v in 0..<config.vocabSize { worst = max(worst, abs(Double(d.sequenceLogits(r.sequence)[v]) - want[v])) }
                fed[r.sequence] += 1
            }
        }
        #expect(d.positions == texts.map(\.count))
        // The same arithmetic in other groupings (rows batched differently): float32 rounding only.
        #expect(worst < 1e-4, "\(name): max |logit difference| = \(worst)")
    }

    /// Greedy continuations of several prompts decoded together: every token each one picked is the
    /// most likely one under the full forward pass of its own prompt and continuation (within float
    /// rounding, so a near-tie may go either way), and each ran to its own length.
    @Test func greedyContinuationsDecodedTogetherAreEachPromptsOwn() throws {
        let (_, config) = ReferenceLogitsTests.configs[1]
        let m = Self.perturbed(config, seed: 31)
        let prompts: [[Int32]] = [[256, 84, 114], [256, 10], [256, 33, 33, 33, 65, 66], [256]]
        let lengths = [9, 9, 9, 9]
        let outs = Generator.generate(model: m, prompts: prompts, maxTokens: 9, temperature: 0, seeds: [1, 2, 3, 4])
        #expect(outs.map(\.count) == lengths)
        for (prompt, out) in zip(prompts, outs) {
            let logits = ReferenceLogitsTests().ourLogits(m, prompt + out)
            for (i, token) in out.enumerated() {
                let row = logits[prompt.count - 1 + i]
                #expect(row[Int(token)] >= row.max()! - 1e-4, "token \(i) of \(prompt) is not the most likely")
            }
        }
        // One prompt alone picks the tokens it picks among others, up to such near-ties.
        let alone = Generator.generate(model: m, prompt: prompts[2], maxTokens: 9, temperature: 0)
        let logits = ReferenceLogitsTests().ourLogits(m, prompts[2] + alone)
        for (i, token) in alone.enumerated() where token != outs[2][i] {
            let row = logits[prompts[2].count - 1 + i]
            #expect(abs(row[Int(token)] - row[Int(outs[2][i])]) < 1e-4, "alone and together part at token \(i) without a tie")
            break
        }
    }

    /// A generation that enters a slot while another is mid-way (the server's continuous batching),
    /// one cancelled, and one of no tokens: each that runs picks, at every token, the most likely one
    /// under the full forward pass of its own text, and ends at its own budget.
    @Test func generationsEnterAndLeaveSlotsIndependently() {
        let (_, config) = ReferenceLogitsTests.configs[3]
        let m = Self.perturbed(config, seed: 51)
        let slots = GenerationSlots(model: m, slots: 2, capacity: 16)
        func settings(_ n: Int) -> GenerationSlots.Settings { .init(maxTokens: n, temperature: 0, topK: 40, seed: 1, stop: []) }
        let a: [Int32] = [256, 72, 105], b: [Int32] = [256, 33], c: [Int32] = [256, 10, 11, 12]
        slots.start(slot: 0, prompt: a, settings: settings(9))
        var done = [Int: [Int32]]()
        for _ in 0..<3 { for (s, t) in slots.step() { done[s] = t } }
        #expect(slots.freeSlot == 1)
        slots.start(slot: 1, prompt: b, settings: settings(4))
        var bTokens: [Int32]?, aTokens: [Int32]?
        while slots.busySlots > 0 {
            for (s, t) in slots.step() { if s == 1 { bTokens = t } else { aTokens = t } }
            if bTokens != nil && slots.freeSlot == 1 && done[1] == nil {
                done[1] = bTokens
                slots.start(slot: 1, prompt: c, settings: settings(5))
                slots.cancel(slot: 1)
                slots.start(slot: 1, prompt: c, settings: settings(0))
            }
        }
        #expect(aTokens?.count == 9 && done[1]?.count == 4 && bTokens == [])
        for (prompt, out) in [(a, aTokens ?? []), (b, done[1] ?? [])] {
            let logits = ReferenceLogitsTests().ourLogits(m, prompt + out)
            for (i, token) in out.enumerated() {
                let row = logits[prompt.count - 1 + i]
                #expect(row[Int(token)] >= row.max()! - 1e-4, "token \(i) of \(prompt) is not the most likely")
            }
        }
    }

    /// A product split across cores gives every output element of the unsplit product, including the
    /// block boundaries and a ragged last block.
    @Test func splitProductsMatchTheWholeProduct() {
        var rng = RNG(seed: 5)
        let n = 3, ic = 300, oc = 250
        let w = FloatBuffer((0..<(oc * ic)).map { _ in Float(rng.normal()) }), x = FloatBuffer((0..<(n * ic)).map { _ in Float(rng.normal()) })
        for rows in [1, n] {
            let whole = FloatBuffer(count: rows * oc), split = FloatBuffer(count: rows * oc)
            Linear.forward(out: whole.pointer, inp: x.pointer, weight: w.pointer, n: rows, ic: ic, oc: oc)
            Linear.forward(out: split.pointer, inp: x.pointer, weight: w.pointer, n: rows, ic: ic, oc: oc, parts: 2)
            var worst: Float = 0
            for i in 0..<(rows * oc) { worst = max(worst, abs(whole[i] - split[i])) }
            // Sums of 300 products of N(0,1) values (magnitude ~17): float32 rounding is below 1e-3.
            #expect(worst < 1e-3, "rows \(rows): max |difference| = \(worst)")
        }
    }
}
