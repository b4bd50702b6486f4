import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel
import TributaryCommandLine
import TributaryContribution
import TributaryRouting

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an expert on private data against the anchor and write a contribution bundle.",
        discussion: """
        The FlexOlmo recipe: every FFN becomes [anchor FFN (frozen), copy (trained)]; nothing else trains. \
        Writes OUT/bundle/{expert,routing}.safetensors (sign them with `tributary sign OUT/bundle`), \
        OUT/model (the 2-expert model for `tributary eval`/`route`), OUT/report.json and checkpoints; \
        a killed run resumes, reusing the DP release so no noise is drawn twice.
        """)

    @Option(help: "Anchor directory (from `tributary anchor train`).") var anchor: String
    @Option(parsing: .upToNextOption, help: "Private text: files or directories. One file = one document.") var data: [String]
    @Option(help: "Output directory.") var out: String
    @Option(parsing: .upToNextOption, help: "Public text (like the anchor's), replayed every --public-every steps so the expert does not degrade it.")
    var publicText: [String] = []
    @Option(help: "Train on a public batch every this many steps (2 = half the steps).") var publicEvery = 2
    @Option(help: "Anchor layers that get an expert: all, 22-29, 0,4-7 (the server's policy says which sets it accepts).") var expertLayers = LayerSet(layers: nil)
    @Option(help: "What the bundle carries: full (the trained FFN) or lora (the factors of a low-rank update of the anchor's FFN, 10-100x smaller).")
    var expertKind: ExpertKind = .full
    @Option(help: "LoRA rank r (with --expert-kind lora).") var loraRank = 8
    @Option(help: "LoRA alpha: the update is scaled by alpha / r (default 2r).") var loraAlpha: Float?
    @Option(help: "LoRA targets: gate, up, down (PEFT's gate_proj, up_proj, down_proj).") var loraTargets = "gate,up,down"
    @OptionGroup var corpusOptions: CorpusOptions
    @OptionGroup var training: TrainingArguments
    @OptionGroup var privacy: PrivacyArguments
    @Option(help: "Held-out bytes scored after training, anchor against the new model (0: none).") var evalBytes = 256 * 1024
    @Flag(help: "Print the summary as JSON.") var json = false

    enum ExpertKind: String, ExpressibleByArgument, CaseIterable { case full, lora }

    /// The LoRA update the options ask for; nil for a full expert (LoRA options without it are refused).
    func loraParameters() throws -> LoRAParameters? {
        guard expertKind == .lora else {
            guard loraAlpha == nil, loraRank == 8, loraTargets == "gate,up,down" else {
                throw TributaryError("train.invalid_options", "--lora-rank, --lora-alpha and --lora-targets need --expert-kind lora")
            }
            return nil
        }
        do {
            return try LoRAParameters(rank: loraRank, alpha: loraAlpha ?? Float(2 * loraRank), targets: try LoRATarget.parseList(loraTargets))
        } catch let e as TributaryError {
            throw TributaryError("train.invalid_options", e.message)
        }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            // The owner's text is read a document at a time, never whole: memory does not grow with it.
            let (train, held, heldCount) = try corpusOptions.streamSplit(data, heldOutBytes: evalBytes)
            let summary = try train.summary()
            guard summary.documents > 0 else { throw TributaryError("corpus.empty", "every document fell into the held-out split; lower --held-out") }
            let progress = ProgressReporter(label: "expert", quiet: training.quiet)
            let layers = try expertLayers.resolve(count: a.model.config.numLayers)
            let lora = try loraParameters()
            var trained = a.model.config.withExperts(2, topK: 2, layers: layers)
            trained.lora = try lora.map { try LoRAShape($0) }
            let options = try training.sized(training.options(contextLength: a.model.config.windowLength, defaultSteps: 300, defaultLR: 2e-3), estimate: {
                TrainingMemory.estimate(model: trained, mode: .expert(1, router: privacy.routerRows == .trained),
                                        sourceParameters: a.model.parameters.count, options: $0, dataTokens: 0)
            }, log: progress.log)
            progress.log("expert: \(summary.documents) private documents (\(summary.bytes) bytes), \(heldCount) held out; anchor \(a.digest.prefix(16))…")
            var noise = SecureNoise()
            let pub = publicText.isEmpty ? nil : DocumentSource(paths: publicText, options: corpusOptions.loadOptions)
            let r = try ContributionPipeline.train(anchor: a, data: train, publicText: pub, publicEvery: publicEvery,
                                                   expertLayers: layers, lora: lora, training: options, signature: privacy.options(seed: training.seed),
                                                   dpSGD: try privacy.dpSGD(), out: out, restart: training.restart, progress: progress, noise: &noise)
            guard !r.training.stoppedEarly else { return }
            var heldOut: (anchor: Evaluation, expert: Evaluation)?
            if let held, evalBytes > 0 {
                heldOut = (Evaluator.evaluate(model: a.model, corpus: held, workers: options.workers),
                           Evaluator.evaluate(model: try ModelDirectory.load(r.model), corpus: held, workers: options.workers))
            }
            if json {
                printJSON(.object([
                    ("bundle", .string(r.bundle)), ("model", .string(r.model)), ("documents", .int(r.documents)), ("steps", .int(r.training.steps)),
                    ("finalLoss", .double(r.training.finalLoss)), ("tokensPerSecond", .double(r.training.tokensPerSecond)),
                    ("privacy", r.signature.parameters.privacy.json), ("exactEpsilon", r.plan.map { .double($0.exactEpsilon) } ?? .null),
                    ("trainingPrivacy", r.dpSGD.map { .object([("epsilon", .double($0.epsilon)), ("delta", .double($0.delta)),
                                                              ("noiseMultiplier", .double($0.noiseMultiplier)), ("samplingRate", .double($0.samplingRate)),
                                                              ("privateSteps", .int($0.privateSteps))]) } ?? .null),
                    ("centroids", .int(r.signature.k)), ("peakRSSMiB", .double(peakRSSMiB())),
                    ("heldOutBitsPerByte", heldOut.map { .object([("anchor", .double($0.anchor.bitsPerByte)), ("expert", .double($0.expert.bitsPerByte))]) } ?? .null),
                ]))
                return
            }
            print("expert written to \(r.bundle) (sign it with: tributary sign \(r.bundle) --key KEY)")
            print(String(format: "  %d steps, final loss %.4f, %.0f tokens/s, peak memory %.0f MiB", r.training.steps, r.training.finalLoss,
                         r.training.tokensPerSecond, peakRSSMiB()))
            if let d = r.dpSGD {
                print(String(format: "  privacy: (ε = %.3g, δ = %.1e) per document for everything uploaded (DP-SGD: noise multiplier %.3f, sampling rate %.4g, %d private steps; the signature's share ε = %.3g)",
                             d.epsilon, d.delta, d.noiseMultiplier, d.samplingRate, d.privateSteps, d.signature.epsilon))
            } else if let p = r.plan {
                print(String(format: "  privacy: (ε = %.3g, δ = %.1e) per document (RDP accountant; exact composition ε = %.3g)", p.epsilon, p.delta, p.exactEpsilon))
            } else {
                print("  privacy: DISABLED (--no-dp)")
            }
            print("  routing signature: \(r.signature.k) centroids, router rows \(r.signature.parameters.routerRowSource.rawValue)")
            if let h = heldOut {
                print(String(format: "  held-out bits/byte: anchor %.4f -> with expert %.4f", h.anchor.bitsPerByte, h.expert.bitsPerByte))
            }
        }
    }
}
