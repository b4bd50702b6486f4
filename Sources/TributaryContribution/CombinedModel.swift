import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// FlexOlmo's merge, shared by the server's releases and the demo's experiments: in every layer the
/// experts [anchor FFN, contributions in order], router rows stacked the same way (the anchor's row,
/// then each signature's rows), and a routing index [public centroids, each signature's centroids].
public enum CombinedModel {
    public struct Contribution: Sendable {
        public let name: String
        public let expert: ExpertWeights
        public let signature: RoutingSignature
        public init(name: String, expert: ExpertWeights, signature: RoutingSignature) {
            self.name = name
            self.expert = expert
            self.signature = signature
        }

        /// A bundle's expert.safetensors (a LoRA expert materialised onto the anchor's FFN) and
        /// routing.safetensors, checked against the anchor's shapes.
        public init(name: String, expertFile: String, routingFile: String, anchor: Model) throws {
            self.init(name: name, expert: try ExpertWeights(file: try SafetensorsFile(path: expertFile), anchor: anchor),
                      signature: try RoutingSignature.read(routingFile))
        }
    }

    public static func assemble(anchor: AnchorDirectory, contributions: [Contribution], topK: Int) throws -> (model: Model, index: RoutingIndex) {
        var experts = [ExpertWeights](), rows = [[Float]]()
        let pub = try anchor.publicCentroids()
        var index = [RoutingIndex.Expert(name: "anchor", centroids: pub.centroids, counts: pub.counts)]
        for c in contributions {
            experts.append(c.expert)
            rows.append(c.signature.routerRows)
            index.append(.init(name: c.name, centroids: c.signature.centroids, counts: c.signature.counts))
        }
        let model = try ExpertAssembly.combine(anchor: anchor.model, anchorRows: anchor.routerRows, experts: experts, rows: rows, topK: topK)
        return (model, RoutingIndex(space: anchor.space, experts: index))
    }
}

/// A release's files (`ReleaseLayout.digestedFiles`): the combined model and its routing index, from
/// the anchor and the contributed bundles' files. Only copies and, for LoRA experts, the protocol's
/// exact materialisation (`LoRAArithmetic`), in a fixed order: the same inputs give the same bytes on
/// any machine. The server writes releases with it, and anyone
/// rebuilds one whose files were pruned with it (`tributary fetch-release`, `audit --rebuild-pruned`)
/// and compares the digests with the release's signed manifest.
public enum ReleaseFiles {
    public struct Source: Sendable {
        public let organisation: String
        public let expertFile: String
        public let routingFile: String
        public init(organisation: String, expertFile: String, routingFile: String) {
            self.organisation = organisation
            self.expertFile = expertFile
            self.routingFile = routingFile
        }
    }

    /// About how many bytes a release of `experts` contributions takes (F32): the anchor's weights,
    /// and one more copy of its FFN in every layer per expert (in layers without experts, Mixtral
    /// repeats the anchor's FFN as every expert).
    public static func estimatedBytes(anchor: AnchorDirectory, experts: Int) -> UInt64 {
        let c = anchor.model.config
        let ffn = UInt64(3 * c.hiddenSize * c.intermediateSize * c.numLayers * 4)
        return UInt64(anchor.model.parameters.count * 4) + UInt64(experts) * ffn + (1 << 20)
    }

    /// How a release's contributed router rows come to be.
    public enum Tuning: Sendable {
        /// The owners' own rows.
        case none
        /// Tuned by `recipe` (§11.12), each expert's proxy samples seeded by its key (its contribution's
        /// log index), on `publicTokens` too; the record is written beside the model.
        case tune(recipe: RouterTuningRecipe, keys: [UInt64], publicTokens: [Int32])
        /// The rows of an existing record (`dir`'s `ReleaseLayout.routerTuningFile`, already checked
        /// against the manifest): how a pruned tuned release is rebuilt bit for bit.
        case recorded
    }

    /// The untuned combined model of `contributions` (log order): what a release is before tuning.
    public static func untuned(anchor: AnchorDirectory, contributions: [Source], topK: Int) throws -> (model: Model, index: RoutingIndex) {
        let parts = try contributions.map {
            try CombinedModel.Contribution(name: $0.organisation, expertFile: $0.expertFile, routingFile: $0.routingFile, anchor: anchor.model)
        }
        return try CombinedModel.assemble(anchor: anchor, contributions: parts, topK: topK)
    }

    /// Writes release `number` of `contributions` (log order) into `dir`, `topK` experts per token at
    /// most; returns each file's SHA-256 and the experts per token the model has.
    public static func write(anchor: AnchorDirectory, contributions: [Source], number: Int, topK: Int, tuning: Tuning = .none,
                             progress: ProgressReporter? = nil, to dir: String) throws -> (files: [String: String], expertsPerToken: Int) {
        var (model, index) = try untuned(anchor: anchor, contributions: contributions, topK: topK)
        let recordPath = dir + "/" + ReleaseLayout.routerTuningFile
        switch tuning {
        case .none:
            break
        case let .tune(recipe, keys, publicTokens) where !contributions.isEmpty:
            let (tuned, record) = try ReleaseRouterTuning.tune(model, recipe: recipe, keys: keys, publicTokens: publicTokens,
                                                               signatures: (index, anchor.model), progress: progress)
            model = tuned
            try record.write(to: recordPath, hidden: model.config.hiddenSize)
        case .tune:
            break  // no contributed rows to tune
        case .recorded:
            let c = model.config
            try RouterTuningRecord.read(recordPath, experts: contributions.count, layers: c.moeLayers.count, hidden: c.hiddenSize, vocab: c.vocabSize)
                .apply(to: model)
        }
        try ModelDirectory.save(model, to: dir, metadata: ["tributary.release": String(number)])
        try index.write(to: dir + "/" + RoutingIndex.fileName)
        var files = [String: String]()
        for name in ReleaseLayout.digestedFiles where FileManager.default.fileExists(atPath: dir + "/" + name) {
            files[name] = Hex.encode(try SHA256.digest(fileAt: dir + "/" + name).digest)
        }
        return (files, model.config.expertsPerToken)
    }
}
