import Foundation
import TributaryCore
import TributaryModel

/// The centroids of every expert of a combined model, in expert order (expert 0 is the anchor, whose
/// centroids come from the public corpus), and the anchor's signature space they live in. Stored next
/// to a model as `routing-index.safetensors` (protocol/SPEC.md §6.5): the space's tensors (as in the
/// anchor's routing file), `experts.{e}.centroids` [k_e, d] and `experts.{e}.counts` [k_e], metadata
/// `tributary.experts` = JSON array of expert names.
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

    public var space: SignatureSpace
    public var experts: [Expert]
    /// The centroids' width.
    public var dimension: Int { space.dimension }

    public init(space: SignatureSpace, experts: [Expert]) {
        precondition(experts.allSatisfy { $0.centroids.count == $0.counts.count * space.dimension })
        self.space = space
        self.experts = experts
    }

    public func write(to path: String) throws {
        var w = SafetensorsWriter(metadata: [Self.namesKey: JSONWriter.string(.array(experts.map { .string($0.name) }))])
        space.add(to: &w)
        for (e, ex) in experts.enumerated() {
            w.add(TensorNames.indexCentroids(e), shape: [ex.counts.count, dimension], values: ex.centroids)
            w.add(TensorNames.indexCounts(e), shape: [ex.counts.count], values: ex.counts)
        }
        try w.write(to: path)
    }

    /// Reads the index of a model of `layers` layers and hidden size `hidden`.
    public static func read(_ path: String, layers: Int, hidden: Int) throws -> RoutingIndex {
        let file = try SafetensorsFile(path: path)
        guard let text = file.metadata[namesKey], case let .array(items) = try StrictJSONParser.parse(Array(text.utf8)) else {
            throw TributaryError("routing.index", "\(path): missing \(namesKey)")
        }
        let space = try SignatureSpace.read(file, path: path, layers: layers, hidden: hidden)
        let d = space.dimension
        var experts = [Expert]()
        for (e, item) in items.enumerated() {
            guard case let .string(name) = item else { throw TributaryError("routing.index", "\(path): expert \(e)'s name is not a string") }
            let c = try file.info(TensorNames.indexCentroids(e))
            guard c.shape.count == 2, c.shape[1] == d else {
                throw TributaryError("routing.index", "\(path): experts.\(e).centroids has shape \(c.shape), expected [k, \(d)]")
            }
            // One count per centroid: the router sizes its work by the counts and reads the centroids.
            let n = try file.info(TensorNames.indexCounts(e))
            guard n.shape == [c.shape[0]] else {
                throw TributaryError("routing.index", "\(path): experts.\(e) has \(c.shape[0]) centroids but counts of shape \(n.shape)")
            }
            experts.append(Expert(name: name, centroids: try file.floats(c), counts: try file.floats(n)))
        }
        return RoutingIndex(space: space, experts: experts)
    }
}
