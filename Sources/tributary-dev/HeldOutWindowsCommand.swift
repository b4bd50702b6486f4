import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryDemo
import TributaryModel

/// The demo's held-out text as the exact windows Tributary scores (token ids, targets, bytes per
/// domain) and the bits per byte Tributary computes on them with a model's own router: the input of
/// `scripts/interop/release_transformers.py`, which scores the same windows in Hugging Face
/// transformers, so the two runtimes are compared on identical tokens.
struct HeldOutWindowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "held-out-windows",
        abstract: "Write the demo's held-out windows and Tributary's bits per byte of a model on them, as JSON.")

    @Option(parsing: .upToNextOption, help: "Model directories (a release, an anchor, an owner's model).") var model: [String]
    @Option(help: "Directory with one sub-directory of text per domain.") var corpora: String
    @Option(parsing: .upToNextOption, help: "Domains, in table order.") var domain: [String]
    @Option(help: "Held-out fraction (as `train --held-out`).") var heldOut = 0.1
    @Option(help: "Evaluate at most this many held-out bytes per domain (the SmolLM2 demo: 3000).") var maxHeldOutBytes = 3000
    @Option(help: "Read only the first this many bytes of each held-out document (the SmolLM2 demo: 1000).") var heldOutDocumentBytes = 1000
    @Option(help: "Output JSON file.") var out: String

    func run() async throws {
        prepareCompute()
        try await reportingErrors { try write() }
    }

    @inline(never) func write() throws {
        guard !model.isEmpty, !domain.isEmpty else { throw ValidationError("give at least one --model and one --domain") }
        let models = try model.map { try ModelDirectory.load($0) }
        let tokenizer = models[0].tokenizer
        var domains = [JSONValue]()
        for d in domain {
            let corpus = try DemoHeldOut.load(corpora + "/" + d, fraction: heldOut, maxBytes: maxHeldOutBytes, documentBytes: heldOutDocumentBytes)
            let windows = Windows.make(corpus, tokenizer: tokenizer, seqLen: models[0].config.windowLength)
            var scores = [JSONValue]()
            for (path, m) in zip(model, models) {
                guard m.tokenizer.vocabSize == tokenizer.vocabSize, Windows.make(corpus, tokenizer: m.tokenizer, seqLen: models[0].config.windowLength).map(\.inputs) == windows.map(\.inputs) else {
                    throw TributaryError("eval.tokenizer_mismatch", "\(path) does not tokenize \(d) as \(model[0]) does")
                }
                let bpb = Evaluator.tokenScores(model: m, corpus: corpus).bitsPerByte()
                scores.append(.object([("model", .string(path)), ("bitsPerByte", .number(String(format: "%.6f", bpb)))]))
                printError(String(format: "%@ on %@: %.4f bits per byte", path, d, bpb))
            }
            domains.append(.object([
                ("name", .string(d)), ("bytes", .int(corpus.documents.reduce(0) { $0 + $1.bytes.count })),
                ("windows", .array(windows.map { w in
                    let real = w.targets.firstIndex(of: Windows.padding) ?? w.targets.count
                    return .object([("inputs", .array(w.inputs[..<real].map { .int(Int($0)) })), ("targets", .array(w.targets[..<real].map { .int(Int($0)) }))])
                })),
                ("tributary", .array(scores)),
            ]))
        }
        try AtomicFileWriter.write(Array(JSONWriter.string(.object([("domains", .array(domains))])).utf8), to: out)
    }
}
