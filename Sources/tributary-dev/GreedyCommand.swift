import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryCore
import TributaryModel

/// Greedy decoding from token ids, timed: what the llama.cpp interop compares token for token
/// (scripts/interop/llamacpp_release.py) and the decoder's speed beside llama.cpp's.
struct GreedyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greedy",
        abstract: "Greedy continuations of token-id prompts, as JSON with the decoder's tokens/s (for interop checks).",
        discussion: "Each prompt is fed to the key/value-cache decoder in one pass; exactly --max-tokens tokens follow one at a time (no stop token), each the argmax.")

    @Option(help: "Model directory.") var model: String
    @Option(parsing: .upToNextOption, help: "Prompts: comma-separated token ids, one argument per prompt.") var prompts: [String]
    @Option(help: "Tokens to generate per prompt.") var maxTokens = 64

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            let V = m.config.vocabSize
            var results = [JSONValue]()
            for p in prompts {
                let ids = try p.split(separator: ",").map { s -> Int32 in
                    guard let v = Int32(s), v >= 0, Int(v) < V else { throw ValidationError("bad token id \(s)") }
                    return v
                }
                let decoder = Decoder(model: m)
                guard !ids.isEmpty, ids.count + maxTokens <= decoder.capacity else {
                    throw ValidationError("a prompt of \(ids.count) tokens plus \(maxTokens) does not fit the decoder's \(decoder.capacity)")
                }
                let start = DispatchTime.now().uptimeNanoseconds
                decoder.prefill(0, ids)
                let prefilled = DispatchTime.now().uptimeNanoseconds
                var out = [Int32]()
                for i in 0..<maxTokens {
                    let logits = UnsafeBufferPointer(start: decoder.logits.pointer, count: V)
                    let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
                    out.append(next)
                    if i + 1 < maxTokens { decoder.step(next) }
                }
                let end = DispatchTime.now().uptimeNanoseconds
                let decodeSeconds = Double(end - prefilled) / 1e9, steps = max(1, maxTokens - 1)
                results.append(.object([
                    ("tokens", .array(out.map { .int(Int($0)) })),
                    ("promptSeconds", .double(Double(prefilled - start) / 1e9)),
                    ("decodeSeconds", .double(decodeSeconds)),
                    ("decodeTokensPerSecond", .double(Double(steps) / decodeSeconds)),
                ]))
            }
            printJSON(.object([("results", .array(results))]))
        }
    }
}
