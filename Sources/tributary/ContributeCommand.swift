import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel
import TributaryRouting

struct ContributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contribute",
        abstract: "Turn an expert trained elsewhere (PyTorch, PEFT) into a contribution bundle.",
        discussion: """
        Reads a FlexOlmo 2-expert checkpoint (--checkpoint: transformers' Mixtral directory, expert 0 the \
        anchor's MLP, expert 1 trained, router rows [anchor, expert]; F32, BF16 or F16, one file or shards) \
        or a PEFT LoRA adapter (--adapter), and checks that everything the recipe freezes is the anchor's \
        (F32 bit for bit; BF16/F16 the anchor rounded to nearest even) and that the expert sits only in \
        --expert-layers. Then releases the routing signature from your documents (--data, as `train` does: \
        the only step that reads them) and writes OUT/bundle for `tributary sign`, OUT/model and \
        OUT/report.json. examples/pytorch/train_expert.py makes such a checkpoint.
        """)

    @Option(help: "Anchor directory the expert was trained from.") var anchor: String
    @Option(help: "FlexOlmo 2-expert checkpoint directory (MixtralForCausalLM.save_pretrained).") var checkpoint: String?
    @Option(help: "PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors[, router_rows.safetensors]).") var adapter: String?
    @Option(parsing: .upToNextOption, help: "Your private text, files or directories (one file = one document): the signature is released from it.")
    var data: [String]
    @Option(help: "Output directory.") var out: String
    @Option(help: "Layers the expert may cover, as the server's policy allows them: all, 22-29, 0,4-7 (default: the layers the checkpoint changed).")
    var expertLayers: LayerSet?
    @Option(help: "JSON file with what you state about the training (the statement's `training`: recipe, steps, tokens, batchSize, contextLength, learningRate, seed, finalLoss).")
    var trainingSummary: String?
    @OptionGroup var corpusOptions: CorpusOptions
    @OptionGroup var privacy: PrivacyArguments
    @Option(help: "Random seed of the signature's clustering.") var seed: UInt64 = 1
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Held-out bytes scored afterwards, anchor against the anchor with the expert (0: none).") var evalBytes = 256 * 1024
    @Flag(help: "Discard a routing signature already released in OUT (draws new noise).") var restart = false
    @Flag(help: "No progress output.") var quiet = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            guard (checkpoint == nil) != (adapter == nil) else {
                throw TributaryError("contribute.invalid_options", "give exactly one of --checkpoint and --adapter")
            }
            guard try privacy.dpSGD() == nil else {
                throw TributaryError("contribute.invalid_options", "--dp-sgd trains the expert: an expert trained elsewhere is imported without it (its ε covers only the signature)")
            }
            let a = try AnchorDirectory.load(anchor)
            let allowed = try expertLayers.map { try $0.resolve(count: a.model.config.numLayers) }
            let progress = ProgressReporter(label: "contribute", quiet: quiet)
            // Everything about the expert is checked before the documents are read or noise drawn.
            let expert = try checkpoint.map { try ExternalExpert.readCheckpoint($0, anchor: a.model, anchorRows: a.routerRows, allowed: allowed) }
                ?? ExternalExpert.readAdapter(adapter!, anchor: a.model, allowed: allowed)
            let summary = try trainingSummary.map { try TrainingSummary(file: $0) }
                ?? TrainingSummary(recipe: "flexolmo-v1", steps: 0, tokens: 0, batchSize: 0, contextLength: 0, learningRate: 0, seed: 0, finalLoss: 0)
            if trainingSummary == nil { progress.log("no --training-summary: the statement records 0 steps and tokens for this expert") }
            let (train, held, heldCount) = try corpusOptions.streamSplit(data, heldOutBytes: evalBytes)
            let documents = try train.summary()
            guard documents.documents > 0 else { throw TributaryError("corpus.empty", "every document fell into the held-out split; lower --held-out") }
            progress.log("\(documents.documents) private documents (\(documents.bytes) bytes), \(heldCount) held out; anchor \(a.digest.prefix(16))…")
            var noise = SecureNoise()
            let r = try ContributionPipeline.contribute(anchor: a, expert: expert, data: train, summary: summary, signature: privacy.options(seed: seed),
                                                        out: out, restart: restart, workers: threads, progress: progress, noise: &noise)
            var heldOut: (anchor: Evaluation, expert: Evaluation)?
            if let held, evalBytes > 0 {
                heldOut = (Evaluator.evaluate(model: a.model, corpus: held, workers: threads),
                           Evaluator.evaluate(model: try ModelDirectory.load(r.model), corpus: held, workers: threads))
            }
            if json {
                printJSON(.object([
                    ("bundle", .string(r.bundle)), ("model", .string(r.model)), ("expert", .string(expert.description)),
                    ("layers", .array(expert.layers.map { .int($0) })), ("documents", .int(r.documents)),
                    ("privacy", r.signature.parameters.privacy.json), ("exactEpsilon", r.plan.map { .double($0.exactEpsilon) } ?? .null),
                    ("centroids", .int(r.signature.k)), ("routerRows", .string(r.publishedExpertRows ? "expert" : "signature")),
                    ("heldOutBitsPerByte", heldOut.map { .object([("anchor", .double($0.anchor.bitsPerByte)), ("expert", .double($0.expert.bitsPerByte))]) } ?? .null),
                ]))
                return
            }
            print("bundle written to \(r.bundle) (sign it with: tributary sign \(r.bundle) --key KEY)")
            print("  expert: \(expert.description); router rows: \(r.publishedExpertRows ? "the expert's own" : "the signature's")")
            if let p = r.plan {
                print(String(format: "  privacy: (ε = %.3g, δ = %.1e) per document for the signature (the expert was not trained with DP here)", p.epsilon, p.delta))
            } else {
                print("  privacy: DISABLED (--no-dp)")
            }
            print("  routing signature: \(r.signature.k) centroids")
            if let h = heldOut {
                print(String(format: "  held-out bits/byte: anchor %.4f -> with expert %.4f", h.anchor.bitsPerByte, h.expert.bitsPerByte))
            }
        }
    }
}
