import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryContribution
import TributaryCore
import TributaryModel
import TributaryRouting

struct AnchorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "anchor", abstract: "The public anchor model.",
                                                    subcommands: [AnchorTrainCommand.self, AnchorImportCommand.self])
}

struct AnchorTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pretrain the dense anchor on public text.",
        discussion: """
        Writes DIR/config.json and DIR/model.safetensors (loadable by transformers' LlamaForCausalLM), \
        DIR/routing.safetensors (the anchor's router rows: the mean FFN input per layer over the corpus; \
        the signature space fitted on the corpus; its centroids) \
        and DIR/anchor.json. Checkpoints go to DIR/checkpoints; a killed run resumes from the last one.
        """)

    @Option(parsing: .upToNextOption, help: "Public text: files or directories.") var corpus: [String]
    @Option(help: "Model size: \(ModelConfig.presetNames.joined(separator: ", ")).") var config = "small"
    @Option(help: "Output directory.") var out: String
    @OptionGroup var corpusOptions: CorpusOptions
    @OptionGroup var training: TrainingArguments
    @Option(help: "Centroids of the public corpus (the anchor's routing entry).") var clusters = 8
    @OptionGroup var space: SignatureSpaceArguments
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let cfg = try ModelConfig.preset(config)
            let (train, held) = try corpusOptions.loadSplit(corpus)
            let progress = ProgressReporter(label: "anchor", quiet: training.quiet)
            let options = try training.sized(training.options(contextLength: cfg.contextLength, defaultSteps: 1000, defaultLR: 3e-3), estimate: {
                TrainingMemory.estimate(model: cfg, mode: .full, sourceParameters: 0, options: $0, dataTokens: 0)
            }, log: progress.log)
            progress.log("anchor: \(config) model, \(train.documents.count) documents (\(train.totalBytes) bytes) for training, \(held?.documents.count ?? 0) held out")
            let r = try AnchorTraining.train(config: cfg, train: train, heldOut: held, options: options, clusters: clusters, space: space.recipe,
                                             spaceText: try space.spaceText(maxDocumentBytes: corpusOptions.maxDocumentBytes), out: out,
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

struct AnchorImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Make a pretrained model the anchor: from a GGUF file or a Hugging Face directory.",
        discussion: """
        Reads a Llama-architecture model (SmolLM2, Llama, TinyLlama …) from --gguf FILE (F32, F16, BF16, \
        Q4_0, Q4_1 and Q8_0 tensors, dequantised; q/k rows put back in transformers' order) or --hf DIR \
        (config.json, tokenizer.json, *.safetensors in F32/BF16/F16), and writes DIR/config.json, \
        DIR/model.safetensors, DIR/tokenizer.json (transformers loads DIR as it is), DIR/routing.safetensors \
        (router rows, the signature space and centroids over --public) and DIR/anchor.json. The output appears whole or not at all.
        """)

    @Option(help: "A GGUF file (llama.cpp's format).") var gguf: String?
    @Option(help: "A Hugging Face model directory.") var hf: String?
    @Option(parsing: .upToNextOption, help: "Public text for the anchor's router rows and centroids: files or directories.") var `public`: [String]
    @Option(help: "Output directory (must not exist, or be empty).") var out: String
    @OptionGroup var corpusOptions: CorpusOptions
    @Option(help: "Centroids of the public corpus (the anchor's routing entry).") var clusters = 8
    @OptionGroup var space: SignatureSpaceArguments
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Random seed (centroid initialisation).") var seed: UInt64 = 1
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            guard (gguf == nil) != (hf == nil) else {
                throw TributaryError("anchor.bad_source", "give exactly one of --gguf FILE and --hf DIR")
            }
            let progress = ProgressReporter(label: "anchor", quiet: false)
            let started = ProgressReporter.now()
            let model: Model, source: JSONValue
            var chatTemplate: String?
            if let gguf {
                progress.log("reading \(gguf)")
                model = try AnchorImport.model(gguf: gguf)
                chatTemplate = try GGUFFile(path: gguf)["tokenizer.chat_template"]?.string
                source = .object([("gguf", .string((gguf as NSString).lastPathComponent)),
                                  ("sha256", .string(Hex.encode(try SHA256.digest(fileAt: gguf, noFollow: false).digest)))])
            } else {
                progress.log("reading \(hf!)")
                model = try AnchorImport.model(huggingFace: hf!)
                if let bytes = try? readSmallFile(hf! + "/" + ChatTemplate.configFile, limit: 1 << 22, noFollow: false) {
                    chatTemplate = try? StrictJSONParser.parse(bytes)["chat_template"]?.stringValue
                }
                source = .object([("huggingFace", .string((hf! as NSString).lastPathComponent))])
            }
            let c = model.config
            progress.log("\(c.numLayers) layers, hidden \(c.hiddenSize), \(c.numHeads) query / \(c.numKVHeads) key-value heads of \(c.headDim), FFN \(c.intermediateSize), vocabulary \(c.vocabSize)\(c.tieEmbeddings ? ", tied embeddings" : ""): \(c.parameterCount) parameters")
            let text = try corpusOptions.load(`public`)
            let digest = try AnchorImport.write(model: model, source: source, chatTemplate: chatTemplate, publicText: text, clusters: clusters, space: space.recipe,
                                                spaceText: try space.spaceText(maxDocumentBytes: corpusOptions.maxDocumentBytes), seed: seed, workers: threads, out: out, progress: progress)
            let seconds = ProgressReporter.now() - started
            if json {
                printJSON(.object([("digest", .string(digest)), ("parameters", .int(c.parameterCount)), ("seconds", .double(seconds))]))
            } else {
                print("anchor written to \(out)")
                print("  digest sha256:\(digest)")
                print(String(format: "  %d parameters, %.1f s", c.parameterCount, seconds))
            }
        }
    }
}
