import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Bits per byte of a model on text.")

    @Option(help: "Model directory (config.json + model.safetensors).") var model: String
    @Option(parsing: .upToNextOption, help: "Text files or directories.") var data: [String]
    @Option(help: "Which documents: all, held-out or train (split by content hash with --held-out).") var split = "all"
    @OptionGroup var corpusOptions: CorpusOptions
    @Option(help: "Worker threads.") var threads = 2
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            var corpus = try corpusOptions.load(data)
            switch split {
            case "all": break
            case "held-out": corpus = corpus.split(heldOutFraction: corpusOptions.heldOut).heldOut
            case "train": corpus = corpus.split(heldOutFraction: corpusOptions.heldOut).train
            default: throw ValidationError("--split must be all, held-out or train")
            }
            guard !corpus.documents.isEmpty else { throw TributaryError("corpus.empty", "the \(split) split is empty") }
            let e = Evaluator.evaluate(model: m, corpus: corpus, workers: threads)
            if json {
                printJSON(.object([("bitsPerByte", .double(e.bitsPerByte)), ("bits", .double(e.bits)), ("bytes", .int(e.bytes)),
                                   ("documents", .int(corpus.documents.count))]))
            } else {
                print("\(model): \(formatBPB(e)) (\(corpus.documents.count) documents)")
            }
        }
    }
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Sample text from a model.")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Text to continue.") var prompt = ""
    @Option(help: "Tokens (bytes) to generate at most.") var maxTokens = 200
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.8
    @Option(help: "Sample among the k most likely tokens.") var topK = 40
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            let out = Generator.generate(model: m, prompt: Array(prompt.utf8), maxTokens: maxTokens, temperature: temperature,
                                         topK: topK, seed: seed)
            print(prompt + String(decoding: out, as: UTF8.self))
        }
    }
}
