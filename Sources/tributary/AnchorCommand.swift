import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryContribution
import TributaryCore
import TributaryModel
import TributaryRouting

struct AnchorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "anchor", abstract: "The public anchor model.",
                                                    subcommands: [AnchorTrainCommand.self])
}

struct AnchorTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pretrain the dense anchor on public text.",
        discussion: """
        Writes DIR/config.json and DIR/model.safetensors (loadable by transformers' LlamaForCausalLM), \
        DIR/routing.safetensors (the anchor's router rows: the mean FFN input per layer over the corpus) \
        and DIR/anchor.json. Checkpoints go to DIR/checkpoints; a killed run resumes from the last one.
        """)

    @Option(parsing: .upToNextOption, help: "Public text: files or directories.") var corpus: [String]
    @Option(help: "Model size: \(ModelConfig.presetNames.joined(separator: ", ")).") var config = "small"
    @Option(help: "Output directory.") var out: String
    @OptionGroup var corpusOptions: CorpusOptions
    @OptionGroup var training: TrainingArguments
    @Option(help: "Centroids of the public corpus (the anchor's routing entry).") var clusters = 8
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let cfg = try ModelConfig.preset(config)
            let (train, held) = try corpusOptions.loadSplit(corpus)
            let options = training.options(contextLength: cfg.contextLength, defaultSteps: 1000, defaultLR: 3e-3)
            let progress = ProgressReporter(label: "anchor", quiet: training.quiet)
            progress.log("anchor: \(config) model, \(train.documents.count) documents (\(train.totalBytes) bytes) for training, \(held?.documents.count ?? 0) held out")
            let r = try AnchorTraining.train(config: cfg, train: train, heldOut: held, options: options, clusters: clusters, out: out,
                                             restart: training.restart, progress: progress)
            guard !r.training.stoppedEarly else { return }
            if json {
                printJSON(.object([("digest", .string(r.digest)), ("steps", .int(r.training.steps)),
                                   ("finalLoss", .double(r.training.finalLoss)), ("tokensPerSecond", .double(r.training.tokensPerSecond)),
                                   ("heldOutBitsPerByte", r.heldOut.map { .double($0.bitsPerByte) } ?? .null)]))
            } else {
                print("anchor written to \(out)")
                print("  digest sha256:\(r.digest)")
                print(String(format: "  %d steps, final loss %.4f, %.0f tokens/s", r.training.steps, r.training.finalLoss, r.training.tokensPerSecond))
                if let h = r.heldOut { print("  held-out: \(formatBPB(h))") }
            }
        }
    }
}
