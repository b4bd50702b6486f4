import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryCore
import TributaryModel

/// One token at a time (generation's `Decoder`): milliseconds a token, and, measured in the same run,
/// one token's linear layers (every dense layer's q/k/v, o, MLP and the lm_head) through sgemm with
/// one row — what `Linear.forward` did before — against sgemv, what it does now.
struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-decode",
        abstract: "Decoder milliseconds a token; one token's matrix products through sgemm (1 row) against sgemv.")
    @Option(help: "Model directory (an anchor: every layer dense).") var model: String
    @Option(help: "Tokens decoded.") var tokens = 64
    @Option(help: "Repeats of the matrix-product comparison.") var repeats = 20

    func run() async throws {
        prepareCompute()
        try await reportingErrors { try measure() }
    }

    @inline(never) func measure() throws {
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
        let bytes = mats.reduce(0) { $0 + $1.rows * $1.cols } * 4
        print(String(format: "one token's matrix products (%d matrices, %.0f MB of weights): sgemm with 1 row %.1f ms, sgemv %.1f ms (%.2fx)",
                     mats.count, Double(bytes) / 1e6, viaGEMM, viaGEMV, viaGEMM / viaGEMV))
        let decoder = Decoder(model: m)
        decoder.step(Int32(c.bosTokenID))
        let t = ProgressReporter.now()
        for i in 0..<tokens { decoder.step(Int32((i * 31 + 7) % c.vocabSize)) }
        let perToken = (ProgressReporter.now() - t) / Double(tokens) * 1000
        print(String(format: "decoder: %.1f ms a token over %d tokens (%.0f tokens/s)", perToken, tokens, 1000 / perToken))
    }
}
