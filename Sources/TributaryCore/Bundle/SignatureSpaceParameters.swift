/// Where a routing signature's centroids live (protocol/SPEC.md §6.1): the anchor layer whose mean
/// state is measured and the dimension of the public projection. Part of a v3 statement's routing
/// parameters; a v2 statement has none (its centroids are in the anchor's whole final state).
public struct SignatureSpaceParameters: Equatable, Sendable {
    /// Anchor layer whose feed-forward input is averaged; the anchor's layer count means its final
    /// normalised state.
    public var layer: Int
    /// Rows of the projection: the centroids' dimension.
    public var dimension: Int

    public init(layer: Int, dimension: Int) {
        self.layer = layer
        self.dimension = dimension
    }

    public var json: JSONValue { .object([("dimension", .int(dimension)), ("layer", .int(layer))]) }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        dimension = try r.int("dimension", in: 1...4096)
        layer = try r.int("layer", in: 0...ModelBounds.maxLayers - 1)
        try r.finish()
    }
}
