import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// What a data owner runs: measure its documents in the anchor's space, release the DP routing
/// signature, train the FlexOlmo expert, and write the two files of a contribution bundle.
///
///     OUT/bundle/expert.safetensors, OUT/bundle/routing.safetensors   ready for `tributary sign`
///     OUT/model/                     the 2-expert model [anchor, own expert], for local eval and routing
///     OUT/signature-dp.safetensors   the DP release (and the initial router rows), reused on resume so
///                                    noise is never drawn twice
///     OUT/checkpoints/, OUT/state.json, OUT/report.json
public enum ContributionPipeline {
    public struct Result: Sendable {
        public let out: String
        public let training: TrainingResult
        public let plan: PrivacyPlan?
        /// The whole contribution's plan when the expert was trained with DP-SGD.
        public let dpSGD: DPSGDPlan?
        public let signature: RoutingSignature
        public let documents: Int
        public let reusedSignature: Bool
        public var bundle: String { out + "/bundle" }
        public var model: String { out + "/model" }
    }

    /// `publicText` (optional, public) is replayed during training so the expert and its router row
    /// learn what is not the owner's domain (ExpertTraining). `expertLayers`: the anchor layers that
    /// get an expert (every layer when nil). `lora`: train and upload a LoRA update of the anchor's FFN
    /// (its factors) instead of a full expert. `dpSGD`: train the expert with DP-SGD; the signature's
    /// ε is then the whole contribution's, of which the signature takes a share (`DPSGDRequest`).
    public static func train<N: NoiseSource>(anchor: AnchorDirectory, data: Corpus, publicText: Corpus? = nil, publicEvery: Int = 2,
                                             expertLayers: [Int]? = nil, lora: LoRAParameters? = nil, training: TrainingOptions,
                                             signature o: SignatureOptions, dpSGD: DPSGDRequest? = nil, out: String, restart: Bool, progress: ProgressReporter?,
                                             noise: inout N) throws -> Result {
        try train(anchor: anchor, data: DocumentSource(data), publicText: publicText.map { DocumentSource($0) }, publicEvery: publicEvery,
                  expertLayers: expertLayers, lora: lora, training: training, signature: o, dpSGD: dpSGD, out: out, restart: restart,
                  progress: progress, noise: &noise)
    }

    /// Documents in a batch embedded at once for the signature.
    static let embeddingBatch = 64

    /// The same, reading the documents one at a time: the owner's text is tokenized into a file under
    /// `out` and embedded a batch of documents at a time, so memory does not grow with the corpus
    /// (beyond C values a document for its embedding).
    public static func train<N: NoiseSource>(anchor: AnchorDirectory, data: DocumentSource, publicText: DocumentSource? = nil, publicEvery: Int = 2,
                                             expertLayers: [Int]? = nil, lora: LoRAParameters? = nil, training: TrainingOptions,
                                             signature asked: SignatureOptions, dpSGD: DPSGDRequest? = nil, out: String, restart: Bool,
                                             progress: ProgressReporter?, noise: inout N) throws -> Result {
        let c = anchor.model.config
        try training.validate(contextLength: c.contextLength)
        var requested = asked
        if let dp = dpSGD {
            try dp.validate()
            guard !asked.disabled else { throw TributaryError("train.invalid_options", "DP-SGD accounts the whole contribution: drop --no-dp") }
            requested.epsilon = asked.epsilon * dp.signatureShare
        }
        let release = try releaseSignature(anchor: anchor, data: data, options: requested, dpSGD: dpSGD.map { ($0, asked.epsilon) },
                                           out: out, restart: restart, workers: training.workers, progress: progress, noise: &noise)
        let (summary, o, plan, released, reused) = (release.summary, release.options, release.plan, release.signature, release.reused)
        let fm = FileManager.default
        let dpPlan = try dpSGD.flatMap { _ in try plan.map { plan in
            try DPSGDPlan(epsilon: asked.epsilon, signature: plan, samplingRate: min(1, Double(training.batchSize) / Double(summary.documents)),
                          privateSteps: Trainer.privateSteps(training.steps, replayEvery: publicText == nil ? nil : publicEvery))
        } }
        if let p = dpPlan, let dp = dpSGD {
            progress?.log(String(format: "DP-SGD: each of %d documents joins a step with probability %.4g, %d private steps, clip %.3g, noise multiplier %.3f; the whole contribution (signature ε = %.3g included) is (ε = %.3g, δ = %.1e) per document",
                                 summary.documents, p.samplingRate, p.privateSteps, dp.clipNorm, p.noiseMultiplier, p.signature.epsilon, p.epsilon, p.delta))
        }

        let trainRouter = o.routerRowSource == .trained
        // The text to train on, tokenized into files (read a window at a time by the batcher).
        let t = anchor.model.tokenizer
        // DP-SGD samples documents, so it holds them one by one (their tokens, not their text); its
        // stream is their concatenation, tokenized once (the file is for corpora beyond memory).
        let privateDocuments = try dpPlan.map { p in
            var docs = [[Int32]]()
            try data.forEach { docs.append(t.document($0.bytes)) }
            return (options: DPSGDOptions(samplingRate: p.samplingRate, noiseMultiplier: p.noiseMultiplier, clipNorm: dpSGD!.clipNorm),
                    documents: try DocumentTokens(docs))
        }
        let tokens: any TokenSource = try privateDocuments.map { InMemoryTokens($0.documents.stream) }
            ?? TokenStore(path: out + "/tokens-private.bin", tokenizer: t, documents: data.forEach)
        let publicTokens = try publicText.map { try TokenStore(path: out + "/tokens-public.bin", tokenizer: t, documents: $0.forEach) }
        defer { for f in ["tokens-private.bin", "tokens-public.bin"] { try? fm.removeItem(atPath: out + "/" + f) } }
        let result = try ExpertTraining.train(anchor: anchor.trainingAnchor, tokens: tokens, dataFingerprint: summary.fingerprint,
                                              routerRows: released.routerRows, layers: expertLayers, trainRouter: trainRouter,
                                              lora: try lora.map { try LoRAShape($0) }, publicTokens: publicTokens, publicEvery: publicEvery,
                                              dpSGD: privateDocuments, options: training,
                                              checkpointDirectory: out + "/checkpoints", restart: false, progress: progress)
        var finalSignature = released
        if trainRouter { finalSignature.routerRows = result.trainedRouterRows }
        if !result.training.stoppedEarly {
            try writeOutputs(anchor: anchor, result: result, signature: finalSignature, training: training, out: out, plan: plan,
                             trainingPrivacy: dpPlan?.declaration(clipNorm: dpSGD!.clipNorm, documents: summary.documents))
        }
        return Result(out: out, training: result.training, plan: plan, dpSGD: dpPlan, signature: finalSignature, documents: summary.documents,
                      reusedSignature: reused)
    }

    /// What `releaseSignature` made or reused.
    struct SignatureRelease {
        let summary: (fingerprint: String, documents: Int, bytes: Int)
        let options: SignatureOptions
        let plan: PrivacyPlan?
        let signature: RoutingSignature
        let reused: Bool
    }

    /// The routing signature's DP release from the owner's documents (the only step of a contribution
    /// that reads them besides training), or the release already in `out` for exactly the same anchor,
    /// data and privacy options: noise is never drawn twice. `dpSGD` (with the whole contribution's ε)
    /// is part of those options. Refuses a signature that does not route the owner's own documents.
    static func releaseSignature<N: NoiseSource>(anchor: AnchorDirectory, data: DocumentSource, options: SignatureOptions,
                                                 dpSGD: (request: DPSGDRequest, epsilon: Double)?, out: String, restart: Bool, workers: Int,
                                                 progress: ProgressReporter?, noise: inout N) throws -> SignatureRelease {
        let c = anchor.model.config, L = c.numLayers, C = c.hiddenSize
        let fm = FileManager.default
        try fm.createDirectory(atPath: out + "/bundle", withIntermediateDirectories: true)
        let summary = try data.summary()
        guard summary.documents > 0 else { throw TributaryError("corpus.empty", "no private documents to train on") }
        let (o, why) = try options.resolved(documents: summary.documents, dimension: anchor.space.dimension)
        let plan = try SignatureBuilder.plan(o)

        // The run's identity: a DP release is reused only for exactly the same inputs.
        let state = JSONValue.object([
            ("anchor", .string(anchor.digest)), ("data", .string(summary.fingerprint)),
            ("signature", .object([("epsilon", .double(o.epsilon)), ("delta", .double(o.delta)), ("disabled", .bool(o.disabled)),
                                   ("clusters", .int(o.clusters ?? 1)), ("iterations", .int(o.iterations)),
                                   ("minClusterSize", .int(o.minClusterSize)), ("routerRows", .string(o.routerRowSource.rawValue)),
                                   ("seed", .uint64(o.seed))])),
            ("dpSGD", dpSGD.map { .object([("epsilon", .double($0.epsilon)), ("signatureShare", .double($0.request.signatureShare)), ("clipNorm", .double($0.request.clipNorm))]) } ?? .null),
        ])
        let statePath = out + "/state.json", sigPath = out + "/signature-dp.safetensors", checkPath = out + "/signature-check.json"
        if restart {
            for f in [sigPath, statePath, checkPath] { try? fm.removeItem(atPath: f) }
            TrainingCheckpointStore(directory: out + "/checkpoints", keep: 0).clear()
        }
        var reused = false
        var released: RoutingSignature
        let check: SignatureCheck.Outcome
        if fm.fileExists(atPath: statePath) {
            let old = try StrictJSONParser.parse(try readSmallFile(statePath, limit: 1 << 20))
            guard old == state else {
                throw TributaryError("train.state_mismatch", "\(out) holds a run with another anchor, data or privacy options; use --restart to discard it")
            }
            released = try RoutingSignature.read(sigPath)
            check = try SignatureCheck.Outcome(json: StrictJSONParser.parse(try readSmallFile(checkPath, limit: 1 << 20)))
            reused = true
            progress?.log("reusing the routing signature already released in \(sigPath) (no new noise is drawn)")
        } else {
            progress?.log("embedding \(summary.documents) documents with the anchor (signature: \(why))")
            var stats = SignatureStatistics(space: anchor.space, layers: L, hidden: C)
            // A batch holds only what an embedding reads of each document (its first tokens' bytes).
            let t = anchor.model.tokenizer, span = t.embeddingTokens * t.maxTokenBytes
            try data.forEachBatch(of: Self.embeddingBatch, cut: span) { batch in
                stats.add(Evaluator.documentStatistics(model: anchor.model, corpus: Corpus(documents: batch), workers: workers))
            }
            released = try SignatureBuilder.build(stats: stats, options: o, plan: plan, noise: &noise)
            check = try SignatureCheck.outcome(stats: stats, released: released, publicCentroids: try anchor.publicCentroids().centroids, options: o)
            // The release, its check and then the state: a run that stops here reuses all three.
            try released.write(to: sigPath)
            try AtomicFileWriter.write(JSONWriter.serialize(check.json) + [0x0a], to: checkPath)
            try AtomicFileWriter.write(JSONWriter.serialize(state) + [0x0a], to: statePath)
        }
        if let plan {
            progress?.log(String(format: "differential privacy: (ε = %.3g, δ = %.1e) by the RDP accountant (exact Gaussian composition: ε = %.3g); centroid-sum noise multiplier %.2f, %d releases",
                                 plan.epsilon, plan.delta, plan.exactEpsilon, plan.noiseMultiplier(.centroidSums) ?? 0, plan.releaseCount))
        } else {
            progress?.log("differential privacy DISABLED (--no-dp): the signature is recorded as such")
        }
        progress?.log("routing signature: \(released.k) of \(o.clusters ?? 1) clusters kept (minimum size \(o.minClusterSize)); " + check.summary)
        try check.require(o.minSelfRouting, epsilon: o.epsilon)
        return SignatureRelease(summary: summary, options: o, plan: plan, signature: released, reused: reused)
    }

    static func writeOutputs(anchor: AnchorDirectory, result: ExpertTraining.Result, signature: RoutingSignature,
                             training: TrainingOptions, out: String, plan: PrivacyPlan?, trainingPrivacy: TrainingPrivacy? = nil) throws {
        let r = result.training
        try writeBundle(anchor: anchor, expert: result.loraFactors.map { .lora($0) } ?? .full(result.expert),
                        summary: TrainingSummary(flexOlmo: r, options: training, privacy: trainingPrivacy), signature: signature,
                        model: result.model.withoutLoRA(), out: out, plan: plan,
                        report: .object([("steps", .int(r.steps)), ("finalLoss", .double(r.finalLoss.isFinite ? r.finalLoss : 0)),
                                         ("tokensPerSecond", .double(r.tokensPerSecond)), ("seconds", .double(r.seconds)),
                                         ("losses", .array(r.losses.map { .double($0.isFinite ? $0 : 0) }))]))
    }

    /// Writes OUT/bundle/{expert,routing}.safetensors, OUT/model (the 2-expert `model` with its routing
    /// index, for local eval and routing) and OUT/report.json (`report` is its "training" entry).
    static func writeBundle(anchor: AnchorDirectory, expert: ExternalExpert.Weights, summary: TrainingSummary, signature: RoutingSignature,
                            model: Model, out: String, plan: PrivacyPlan?, report: JSONValue) throws {
        let c = anchor.model.config
        let bundle = out + "/bundle"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        // A bundle's old statement and envelope no longer match new files: remove them first.
        for stale in [BundleLayout.statementFile, BundleLayout.envelopeFile] { try? FileManager.default.removeItem(atPath: bundle + "/" + stale) }
        var file = SafetensorsWriter(metadata: [
            BundleLayout.anchorMetadataKey: anchor.digest,
            BundleLayout.trainingMetadataKey: JSONWriter.string(summary.json),
        ])
        switch expert {
        case let .lora(factors): factors.add(to: &file, config: c)
        case let .full(weights): weights.add(to: &file, config: c)
        }
        try file.write(to: bundle + "/" + BundleLayout.expertFile)
        try signature.write(to: bundle + "/" + BundleLayout.routingFile)

        try ModelDirectory.save(model, to: out + "/model")
        let pub = try anchor.publicCentroids()
        try RoutingIndex(space: anchor.space, experts: [
            .init(name: "anchor", centroids: pub.centroids, counts: pub.counts),
            .init(name: "own", centroids: signature.centroids, counts: signature.counts),
        ]).write(to: out + "/model/" + RoutingIndex.fileName)

        let json = JSONValue.object([
            ("anchor", .string(anchor.digest)),
            ("training", report),
            ("privacy", signature.parameters.privacy.json),
            ("exactEpsilon", plan.map { .double($0.exactEpsilon) } ?? .null),
            ("trainingPrivacy", summary.privacy?.json ?? .null),
            ("centroidsKept", .int(signature.k)),
        ])
        try AtomicFileWriter.write(JSONWriter.serialize(json) + [0x0a], to: out + "/report.json")
    }
}
