import Foundation
import TributaryCore
import TributaryModel

/// What an expert knows, described without its documents: DP centroids of the owner's sequence
/// embeddings (for sequence-level routing) and one router row per layer (for the MoE router).
/// Stored as `routing.safetensors` (protocol/SPEC.md §3.2).
public struct RoutingSignature: Sendable {
    public var centroids: [Float]       // [k, C]
    public var counts: [Float]          // [k]
    public var routerRows: [Float]      // [L, C]
    public var parameters: RoutingParameters

    public var k: Int { counts.count }
    public var dimension: Int { parameters.dimension }
    public var layers: Int { parameters.layers }

    public init(centroids: [Float], counts: [Float], routerRows: [Float], parameters: RoutingParameters) {
        precondition(centroids.count == counts.count * parameters.dimension)
        precondition(routerRows.count == parameters.layers * parameters.dimension)
        self.centroids = centroids
        self.counts = counts
        self.routerRows = routerRows
        self.parameters = parameters
    }

    public func write(to path: String) throws {
        var w = SafetensorsWriter(metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(parameters.json)])
        w.add(TensorNames.centroids, shape: [k, dimension], values: centroids)
        w.add(TensorNames.centroidCounts, shape: [k], values: counts)
        w.add(TensorNames.routerRows, shape: [layers, dimension], values: routerRows)
        try w.write(to: path)
    }

    /// Reads a routing file written by `write` (a bundle's, or an anchor's).
    public static func read(_ path: String) throws -> RoutingSignature {
        let file = try SafetensorsFile(path: path)
        guard let meta = file.metadata[BundleLayout.routingMetadataKey] else {
            throw BundleError.metadata(file: path, problem: "missing \(BundleLayout.routingMetadataKey)")
        }
        let params: RoutingParameters
        do { params = try RoutingParameters(json: try StrictJSONParser.parse(Array(meta.utf8)), path: BundleLayout.routingMetadataKey) } catch {
            throw BundleError.metadata(file: path, problem: "\(error)")
        }
        let k = try BundleLayout.checkRouting(file.header, layers: params.layers, hidden: params.dimension)
        guard k == params.centroids else { throw BundleError.routingLayout("\(path): \(k) centroids, metadata says \(params.centroids)") }
        return RoutingSignature(centroids: try file.floats(TensorNames.centroids), counts: try file.floats(TensorNames.centroidCounts),
                                routerRows: try file.floats(TensorNames.routerRows), parameters: params)
    }
}
