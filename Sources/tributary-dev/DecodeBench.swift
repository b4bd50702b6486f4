import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryCore
import TributaryModel

/// Generation's `Decoder`, measured in one run: one prompt a token at a time on one core (the
/// baseline: every decoder before the products were split) and on `--parts` cores; several prompts
/// decoded together (tokens/s over all of them); a prompt fed token by token against one pass. And
/// one token's linear layers (every dense layer's q/k/v, o, MLP and the lm_head) through sgemm with
/// one row against sgemv, what a one-row product uses.
struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-decode",
        abstract: "Decoder tokens/s: one prompt on one core and on several, several prompts together, prompt passes.")
    @Option(help: "Model directory (an anchor: every layer dense).") var model: String
    @Option(help: "Tokens decoded.") var tokens = 64
    @Option(help: "Repeats of the matrix-product comparison.") var repeats = 20
    @Option(help: "Cores a product is split across.") var parts = 2
    @Option(help: "Prompts decoded together, comma-separated counts.") var batches = "4,8,16"
    @Option(help: "Prompt tokens for the prefill comparison.") var promptTokens = 128
    @Flag(help: "One JSON object instead of text.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors { try measure() }
    }

    @inline(never) func measure() throws {
        var fields = [(String, JSONValue)](), lines = [String]()
        func say(_ line: String) { lines.append(line) }
        defer {
            if json { printJSON(.object(fields + [("peakRSSMiB", .double(peakRSSMiB())), ("core", .string(BLASThreads.coreName))])) }
            else { lines.forEach { print($0) } }
        }
        let m = try ModelDirectory.load(model), c = m.config, C = c.hiddenSize, F = c.intermediateSize
        var mats = [(offset: Int, rows: Int, cols: Int)]()
        for ly in m.layout.layers where !ly.isMoE {
            mats += [(ly.qkv, c.qkvDim, C), (ly.o, C, c.qDim), (ly.w13, 2 * F, C), (ly.w2, C, F)]
        }
        mats.append((m.layout.lmHead, c.vocabSize, C))
        let x = FloatBuffer(count: max(C, F, c.qDim)), y = FloatBuffer(count: max(c.vocabSize, 2 * F))
        for i in 0..<x.count { x.pointer[i] = Float(i % 7) * 0.01 }
        func time(_ body: () -> Void) -> Double {
            body()   // warm
            let t = ProgressReporter.now()
            for _ in 0..<repeats { body() }
            return (ProgressReporter.now() - t) / Double(repeats) * 1000
        }
        let viaGEMM = time { for w in mats { sgemm(transB: true, m: 1, n: w.rows, k: w.cols, a: x.pointer, lda: w.cols, b: m.pointer(w.offset), ldb: w.cols, c: y.pointer, ldc: w.rows) } }
        let viaGEMV = time { for w in mats { sgemv(m: w.rows, n: w.cols, a: m.pointer(w.offset), lda: w.cols, x: x.pointer, y: y.pointer) } }
        let viaSplit = time { for w in mats { Linear.forward(out: y.pointer, inp: x.pointer, weight: m.pointer(w.offset), n: 1, ic: w.cols, oc: w.rows, parts: parts) } }
        let bytes = mats.reduce(0) { $0 + $1.rows * $1.cols } * 4
        say(String(format: "one token's matrix products (%d matrices, %.0f MB of weights): sgemm with 1 row %.1f ms, sgemv %.1f ms (%.2fx)",
                     mats.count, Double(bytes) / 1e6, viaGEMM, viaGEMV, viaGEMM / viaGEMV))
        fields += [("productsOneCoreMs", .double(viaGEMV)), ("productsSplitMs", .double(viaSplit)), ("weightsMB", .double(Double(bytes) / 1e6))]
        say(String(format: "the same products split across %d cores: %.1f ms (%.2fx one core's sgemv; weights read at %.1f GB/s)",
                     parts, viaSplit, viaGEMV / viaSplit, Double(bytes) / viaSplit / 1e6))
        let tokenAt = { (i: Int) in Int32((i * 31 + 7) % c.vocabSize) }
        func perToken(parts: Int) -> Double {
            let decoder = Decoder(model: m, capacity: tokens + 1, parts: parts)
            decoder.step(Int32(c.bosTokenID))
            let t = ProgressReporter.now()
            for i in 0..<tokens { decoder.step(tokenAt(i)) }
            return (ProgressReporter.now() - t) / Double(tokens) * 1000
        }
        let one = perToken(parts: 1), split = perToken(parts: parts)
        fields += [("parts", .int(parts)), ("onePromptOneCore", .double(1000 / one)), ("onePrompt", .double(1000 / split))]
        say(String(format: "one prompt, 1 core (baseline): %.1f ms a token (%.1f tokens/s) over %d tokens", one, 1000 / one, tokens))
        say(String(format: "one prompt, %d cores: %.1f ms a token (%.1f tokens/s), %.2fx the baseline", parts, split, 1000 / split, one / split))
        var batched = [JSONValue]()
        defer { fields.append(("batched", .array(batched))) }
        for s in batches.split(separator: ",").compactMap({ Int($0) }) where s > 0 {
            let decoder = Decoder(model: m, sequences: s, capacity: tokens + 1, parts: parts)
            decoder.feed((0..<s).map { ($0, Int32(c.bosTokenID)) })
            let t = ProgressReporter.now()
            for i in 0..<tokens { decoder.feed((0..<s).map { ($0, tokenAt(i + $0)) }) }
            let seconds = ProgressReporter.now() - t, rate = Double(s * tokens) / seconds
            batched.append(.object([("prompts", .int(s)), ("tokensPerSecond", .double(rate))]))
            say(String(format: "%d prompts together, %d cores: %.1f ms a step, %.1f tokens/s over all, %.2fx the baseline",
                         s, parts, seconds / Double(tokens) * 1000, rate, rate / (1000 / one)))
        }
        let prompt = (0..<promptTokens).map(tokenAt)
        let byToken = Decoder(model: m, capacity: promptTokens, parts: parts), byPass = Decoder(model: m, capacity: promptTokens, parts: parts)
        var t = ProgressReporter.now()
        for token in prompt { byToken.step(token) }
        let tokenSeconds = ProgressReporter.now() - t
        t = ProgressReporter.now()
        byPass.prefill(0, prompt)
        let passSeconds = ProgressReporter.now() - t
        fields += [("promptTokens", .int(promptTokens)), ("prefillTokenByTokenSeconds", .double(tokenSeconds)), ("prefillPassSeconds", .double(passSeconds))]
        say(String(format: "a %d-token prompt: token by token %.2f s, in passes of %d rows %.2f s (%.2fx)",
                     promptTokens, tokenSeconds, byPass.maxRows, passSeconds, tokenSeconds / passSeconds))
    }
}
