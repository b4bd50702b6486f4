import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Bits per byte of a model on text.")

    @Option(help: "Model directory (config.json + model.safetensors).") var model: String
    @Option(parsing: .upToNextOption, help: "Text files or directories.") var data: [String]
    @Option(help: "Which documents: all, held-out or train (split by content hash with --held-out).") var split = CorpusSplit.all
    @OptionGroup var corpusOptions: CorpusOptions
    @Option(help: ArgumentHelp("How a combined MoE routes: rows (its router rows over all experts, as the Mixtral export) or posterior (each token goes to the expert set — anchor alone, or anchor + one expert — that best explains the document so far; one forward pass per set).", valueName: "rows|posterior"))
    var routing = RoutingMethod.rows
    @Option(help: "Worker threads.") var threads = 2
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            if routing == .posterior && !m.config.isMoE {
                throw TributaryError("eval.not_moe", "--routing posterior needs a mixture-of-experts model; \(model) is dense")
            }
            let corpus = try corpusOptions.load(data, split: split)
            guard !corpus.documents.isEmpty else { throw TributaryError("corpus.empty", "the \(split.rawValue) split is empty") }
            if routing == .posterior {
                let r = PosteriorRouting(experts: m.config.numExperts).tokenScores(model: m, corpus: corpus, workers: threads)
                let bpb = r.scores.bitsPerByte()
                if json {
                    printJSON(.object([("bitsPerByte", .double(bpb)), ("routing", .string(routing.rawValue)), ("documents", .int(corpus.documents.count)),
                                       ("setShares", .array(r.shares.map { .double($0) }))]))
                } else {
                    print("\(model): " + String(format: "%.4f", bpb) + " bits/byte, routed by posterior (\(corpus.documents.count) documents)")
                    print("tokens per expert set: anchor alone " + String(format: "%.2f", r.shares[0])
                          + r.shares.dropFirst().enumerated().map { String(format: ", anchor + expert %d %.2f", $0 + 1, $1) }.joined())
                }
                return
            }
            let e = Evaluator.evaluate(model: m, corpus: corpus, workers: threads)
            if json {
                printJSON(.object([("bitsPerByte", .double(e.bitsPerByte)), ("routing", .string(routing.rawValue)), ("bits", .double(e.bits)),
                                   ("bytes", .int(e.bytes)), ("documents", .int(corpus.documents.count))]))
            } else {
                print("\(model): \(formatBPB(e)) (\(corpus.documents.count) documents)")
            }
        }
    }
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a model.",
        discussion: """
        A model with a chat template (SmolLM2's instruct models) answers --prompt as a user message \
        unless --raw is given; --raw continues the text as it is.
        """)

    @Option(help: "Model directory.") var model: String
    @Option(help: "The user's message, or with --raw the text to continue.") var prompt = ""
    @Flag(help: "Continue the prompt as plain text (no chat template).") var raw = false
    @Option(help: "Tokens to generate at most.") var maxTokens = 200
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.8
    @Option(help: "Sample among the k most likely tokens.") var topK = 40
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            if !raw, case let .bpe(t) = m.tokenizer, let template = ChatTemplate.load(modelDirectory: model, tokenizer: t) {
                let out = Generator.answer(model: m, template: template, user: prompt, maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seed)
                print(String(decoding: out, as: UTF8.self))
            } else {
                let out = Generator.continuation(model: m, text: Array(prompt.utf8), maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seed)
                print(prompt + String(decoding: out, as: UTF8.self))
            }
        }
    }
}

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Show how a model's tokenizer splits text.")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Text to tokenize.") var text: String?
    @Option(help: "A file to tokenize (its bytes; invalid UTF-8 is read as U+FFFD).") var file: String?
    @Flag(help: "Print JSON: ids, tokens and the byte count.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
            let config = try ModelDirectory.loadConfig(model)
            let tokenizer = try ModelDirectory.loadTokenizer(model, config: config)
            let bytes = try file.map { try readSmallFile($0, limit: 1 << 30, noFollow: false) } ?? Array(text!.utf8)
            let ids = tokenizer.encode(bytes)
            let pieces = ids.map { id -> String in
                if case let .bpe(t) = tokenizer, t.isSpecial(id) { return t.tokens[Int(id)] }
                return String(decoding: tokenizer.decode([id]), as: UTF8.self)
            }
            if json {
                printJSON(.object([("ids", .array(ids.map { .int(Int($0)) })), ("tokens", .array(pieces.map { .string($0) })),
                                   ("bytes", .int(bytes.count))]))
            } else {
                print("\(ids.count) tokens for \(bytes.count) bytes")
                for (id, piece) in zip(ids, pieces) { print(String(format: "%7d  ", id) + piece.debugDescription) }
            }
        }
    }
}
