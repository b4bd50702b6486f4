import Foundation
import TributaryCore
import TributaryModel

/// What an expert knows, described without its documents: DP centroids of the owner's documents'
/// points in the anchor's signature space (for sequence-level routing) and one router row per layer
/// (for the MoE router).
/// Stored as `routing.safetensors` (protocol/SPEC.md §3.2).
public struct RoutingSignature: Sendable {
    public var centroids: [Float]       // [k, d]
    public var counts: [Float]          // [k]
    public var routerRows: [Float]      // [L, C]
    public var parameters: RoutingParameters

    public var k: Int { counts.count }
    /// The anchor's hidden size (router rows' width).
    public var hidden: Int { parameters.dimension }
    /// The centroids' width: the signature space's dimension.
    public var centroidDimension: Int { parameters.centroidDimension }
    public var layers: Int { parameters.layers }

    public init(centroids: [Float], counts: [Float], routerRows: [Float], parameters: RoutingParameters) {
        precondition(centroids.count == counts.count * parameters.centroidDimension)
        precondition(routerRows.count == parameters.layers * parameters.dimension)
        self.centroids = centroids
        self.counts = counts
        self.routerRows = routerRows
        self.parameters = parameters
    }

    public func write(to path: String) throws {
        var w = SafetensorsWriter(metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(parameters.json)])
        w.add(TensorNames.centroids, shape: [k, centroidDimension], values: centroids)
        w.add(TensorNames.centroidCounts, shape: [k], values: counts)
        w.add(TensorNames.routerRows, shape: [layers, hidden], values: routerRows)
        try w.write(to: path)
    }

    /// Reads a routing file written by `write` (a bundle's, or an anchor's).
    public static func read(_ path: String) throws -> RoutingSignature {
        let file = try SafetensorsFile(path: path)
        let params = try RoutingParameters(file: file, path: path)
        let k = try BundleLayout.checkRouting(file.header, layers: params.layers, hidden: params.dimension, centroidDimension: params.centroidDimension)
        guard k == params.centroids else { throw BundleError.routingLayout("\(path): \(k) centroids, metadata says \(params.centroids)") }
        return RoutingSignature(centroids: try file.floats(TensorNames.centroids), counts: try file.floats(TensorNames.centroidCounts),
                                routerRows: try file.floats(TensorNames.routerRows), parameters: params)
    }
}
