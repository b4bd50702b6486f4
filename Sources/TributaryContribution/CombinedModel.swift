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

        /// A bundle's expert.safetensors and routing.safetensors, checked against the anchor's shapes.
        public init(name: String, expertFile: String, routingFile: String, config: ModelConfig) throws {
            self.init(name: name, expert: try ExpertWeights(file: try SafetensorsFile(path: expertFile), config: config),
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
        return (model, RoutingIndex(dimension: anchor.model.config.hiddenSize, center: anchor.embeddingCenter, experts: index))
    }
}
