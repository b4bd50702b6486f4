import Foundation
import TributaryCore
import TributaryModel

/// The centroids of every expert of a combined model, in expert order (expert 0 is the anchor, whose
/// centroids come from the public corpus), and the anchor's embedding centre that queries are
/// centred on. Stored next to a model as `routing-index.safetensors`: tensors `embedding_center` [C],
/// `experts.{e}.centroids` [k_e, C] and `experts.{e}.counts` [k_e], metadata `tributary.experts` =
/// JSON array of expert names.
public struct RoutingIndex: Sendable {
    public static let fileName = ReleaseLayout.routingIndexFile
    static let namesKey = "tributary.experts"

    public struct Expert: Sendable {
        public var name: String
        public var centroids: [Float]
        public var counts: [Float]
        public init(name: String, centroids: [Float], counts: [Float]) {
            self.name = name
            self.centroids = centroids
            self.counts = counts
        }
    }

    public var dimension: Int
    public var center: [Float]
    public var experts: [Expert]

    public init(dimension: Int, center: [Float], experts: [Expert]) {
        precondition(center.count == dimension)
        self.dimension = dimension
        self.center = center
        self.experts = experts
    }

    public func write(to path: String) throws {
        var w = SafetensorsWriter(metadata: [Self.namesKey: JSONWriter.string(.array(experts.map { .string($0.name) }))])
        w.add(TensorNames.embeddingCenter, shape: [dimension], values: center)
        for (e, ex) in experts.enumerated() {
            w.add(TensorNames.indexCentroids(e), shape: [ex.counts.count, dimension], values: ex.centroids)
            w.add(TensorNames.indexCounts(e), shape: [ex.counts.count], values: ex.counts)
        }
        try w.write(to: path)
    }

    public static func read(_ path: String) throws -> RoutingIndex {
        let file = try SafetensorsFile(path: path)
        guard let text = file.metadata[namesKey], case let .array(items) = try StrictJSONParser.parse(Array(text.utf8)) else {
            throw TributaryError("routing.index", "\(path): missing \(namesKey)")
        }
        let names = items.map { if case let .string(s) = $0 { return s } else { return "?" } }
        var experts = [Expert](), dimension = 0
        for (e, name) in names.enumerated() {
            let c = try file.info(TensorNames.indexCentroids(e))
            guard c.shape.count == 2 else { throw TributaryError("routing.index", "\(path): experts.\(e).centroids is not a matrix") }
            if dimension == 0 { dimension = c.shape[1] }
            guard c.shape[1] == dimension else { throw TributaryError("routing.index", "\(path): experts.\(e) has dimension \(c.shape[1])") }
            // One count per centroid: the router sizes its work by the counts and reads the centroids.
            let n = try file.info(TensorNames.indexCounts(e))
            guard n.shape == [c.shape[0]] else {
                throw TributaryError("routing.index", "\(path): experts.\(e) has \(c.shape[0]) centroids but counts of shape \(n.shape)")
            }
            experts.append(Expert(name: name, centroids: try file.floats(c), counts: try file.floats(n)))
        }
        let center = try file.floats(TensorNames.embeddingCenter)
        if dimension == 0 { dimension = center.count }
        guard center.count == dimension else { throw TributaryError("routing.index", "\(path): embedding_center has \(center.count) values") }
        return RoutingIndex(dimension: dimension, center: center, experts: experts)
    }
}
