import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// A contribution whose expert was trained elsewhere (`ExternalExpert`): the routing signature is
/// released from the owner's documents exactly as `train` releases it, and the same bundle is written.
extension ContributionPipeline {
    public struct ExternalResult: Sendable {
        public let out: String
        public let plan: PrivacyPlan?
        public let signature: RoutingSignature
        public let documents: Int
        public let reusedSignature: Bool
        /// Whether the published router rows are the expert's own (trained) rather than the signature's.
        public let publishedExpertRows: Bool
        public var bundle: String { out + "/bundle" }
        public var model: String { out + "/model" }
    }

    /// Writes OUT/bundle (ready for `tributary sign`), OUT/model and OUT/report.json for `expert`.
    /// With `--router-rows trained` (the default) the expert's own rows are published where it has them;
    /// with `dp-mean` the signature's DP rows are, whatever the checkpoint trained. `summary` is what the
    /// owner states about its training (the statement's `training`).
    public static func contribute<N: NoiseSource>(anchor: AnchorDirectory, expert: ExternalExpert, data: DocumentSource, summary: TrainingSummary,
                                                  signature options: SignatureOptions, out: String, restart: Bool, workers: Int,
                                                  progress: ProgressReporter?, noise: inout N) throws -> ExternalResult {
        let C = anchor.model.config.hiddenSize
        guard summary.privacy == nil else {
            throw TributaryError("contribute.invalid_summary", "a training summary of an external expert cannot declare DP-SGD: the composed accounting is computed by `tributary train --dp-sgd` only")
        }
        progress?.log("expert: \(expert.description)")
        let release = try releaseSignature(anchor: anchor, data: data, options: options, dpSGD: nil, out: out, restart: restart,
                                           workers: workers, progress: progress, noise: &noise)
        var signature = release.signature
        let useOwnRows = release.options.routerRowSource == .trained && expert.routerRows != nil
        if useOwnRows {
            signature.routerRows = expert.routerRows(over: signature.routerRows, hidden: C)
        } else if expert.routerRows != nil {
            progress?.log("--router-rows \(release.options.routerRowSource.rawValue): the expert's own router rows are not published; the signature's DP rows are")
        }
        let weights = try expert.materialised(anchor: anchor.model)
        let model = try ExpertAssembly.combine(anchor: anchor.model, anchorRows: anchor.routerRows, experts: [weights], rows: [signature.routerRows], topK: 2)
        let report: JSONValue
        if case let .object(fields) = summary.json { report = .object(fields + [("source", .string(expert.description))]) } else { report = summary.json }
        try writeBundle(anchor: anchor, expert: expert.weights, summary: summary, signature: signature, model: model, out: out,
                        plan: release.plan, report: report)
        return ExternalResult(out: out, plan: release.plan, signature: signature, documents: release.summary.documents,
                              reusedSignature: release.reused, publishedExpertRows: useOwnRows)
    }
}

extension TrainingSummary {
    /// What an owner states about a run made outside Tributary, read from a JSON file with the
    /// statement's `training` fields (`recipe`, `steps`, `tokens`, `batchSize`, `contextLength`,
    /// `learningRate`, `seed`, `finalLoss`), as `examples/pytorch/train_expert.py` writes it.
    public init(file path: String) throws {
        do {
            self = try TrainingSummary(json: try StrictJSONParser.parse(try readSmallFile(path, limit: 1 << 20, noFollow: false)), path: "training")
        } catch let e as TributaryError {
            throw e
        } catch {
            throw TributaryError("contribute.invalid_summary", "\(path): \(error)")
        }
    }
}
