import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// The public anchor on disk: a dense Llama model plus what every party needs to route against it.
///
///     DIR/config.json, DIR/model.safetensors   the model (transformers layout)
///     DIR/routing.safetensors                  router_rows [L, C]; the signature space: signature_center
///                                              [C] and signature_projection [d, C] (anchors made before
///                                              spaces: embedding_center [C], d = C); the public corpus's
///                                              centroids [k, d] / centroid_counts [k]
///     DIR/anchor.json                          digest and how the anchor was made
public struct AnchorDirectory: Sendable {
    public static let routingFile = AnchorLayout.routingFile
    public static let summaryFile = AnchorLayout.summaryFile

    public let path: String
    public let model: Model
    /// The anchor's identity everywhere in the protocol (`digest(_:)`).
    public let digest: String
    /// The anchor's router row per layer, [L * C].
    public let routerRows: [Float]
    /// Where every routing signature against this anchor lives (`SignatureSpace`).
    public let space: SignatureSpace

    /// What FlexOlmo expert training freezes.
    public var trainingAnchor: ExpertTraining.Anchor { .init(model: model, routerRows: routerRows, identity: digest) }

    /// The centroids of the public corpus (the anchor's routing entry), [k, d] and [k].
    public func publicCentroids() throws -> (centroids: [Float], counts: [Float]) {
        let f = try SafetensorsFile(path: path + "/" + Self.routingFile)
        return (try f.floats(TensorNames.centroids), try f.floats(TensorNames.centroidCounts))
    }

    /// The anchor's identity: config, weights and tokenizer (`ModelFiles.identity`).
    public static func digest(_ dir: String) throws -> String { try AnchorLayout.identity(of: dir) }

    public static func load(_ path: String) throws -> AnchorDirectory {
        let model = try ModelDirectory.load(path)
        guard !model.config.isMoE else {
            throw TributaryError("anchor.not_dense", "\(path) holds a Mixtral model; an anchor is a dense Llama model")
        }
        let routingPath = path + "/" + routingFile
        guard FileManager.default.fileExists(atPath: routingPath) else {
            throw TributaryError("anchor.incomplete", "\(path) has no \(routingFile): was it made by `tributary anchor train`?")
        }
        let routing = try SafetensorsFile(path: routingPath)
        let c = model.config
        let rows = try routing.floats(TensorNames.routerRows)
        guard rows.count == c.numLayers * c.hiddenSize else {
            throw TributaryError("anchor.incomplete", "\(routingPath): \(TensorNames.routerRows) has \(rows.count) values, expected \(c.numLayers) x \(c.hiddenSize)")
        }
        let space = try SignatureSpace.read(routing, path: routingPath, layers: c.numLayers, hidden: c.hiddenSize)
        let centroids = try routing.info(TensorNames.centroids)
        guard centroids.shape.count == 2, centroids.shape[1] == space.dimension else {
            throw TributaryError("anchor.incomplete", "\(routingPath): \(TensorNames.centroids) has shape \(centroids.shape), expected [k, \(space.dimension)]")
        }
        return AnchorDirectory(path: path, model: model, digest: try digest(path), routerRows: rows, space: space)
    }

    /// Writes DIR/routing.safetensors for `model` from public text: the signature space fitted on it
    /// (`recipe`; on `spaceText` instead when given), the router rows (noiseless: the text is public) and `clusters` centroids of the public
    /// documents' points (plain k-means, 10 iterations). The one place an anchor's routing entry is made.
    @discardableResult
    public static func writeRouting(model: Model, publicText: Corpus, clusters: Int, space recipe: SignatureSpace.Recipe = .init(),
                                    spaceText: Corpus? = nil, seed: UInt64, workers: Int, to dir: String) throws -> SignatureSpace {
        let c = model.config, L = c.numLayers, C = c.hiddenSize
        let stats = Evaluator.documentStatistics(model: model, corpus: publicText, workers: workers)
        let space: SignatureSpace
        if let spaceText {
            // More (and more varied) public text than the router rows need, run only up to the layer.
            let l = recipe.resolvedLayer(layers: L)
            space = try recipe.fit(layerRows: Evaluator.layerMeans(model: model, corpus: spaceText, layer: l, workers: workers), layer: l, hidden: C)
        } else {
            space = try recipe.fit(stats, layers: L, hidden: C)
        }
        let publicStats = SignatureStatistics(stats, space: space, layers: L, hidden: C)
        var unused = SeededNoise(seed: seed)
        let fit = LloydClustering(clusters: clusters, iterations: 10, sumNoise: nil, countNoise: nil, minClusterSize: 1, initSeed: seed)
            .fit(points: publicStats.points, dimension: space.dimension, noise: &unused)
        let params = RoutingParameters(centroids: fit.k, dimension: C, layers: L, routerRowSource: .trained,
                                       privacy: PrivacyParameters(enabled: false, mechanism: "none", accountant: "none", epsilon: nil,
                                                                  delta: nil, clipNorm: 1, noiseMultipliers: [:], minClusterSize: 1,
                                                                  iterations: 10),
                                       space: space.parameters)
        var w = SafetensorsWriter(metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(params.json)])
        w.add(TensorNames.routerRows, shape: [L, C], values: SignatureBuilder.publicRouterRows(publicStats))
        space.add(to: &w)
        w.add(TensorNames.centroids, shape: [fit.k, space.dimension], values: fit.centroids)
        w.add(TensorNames.centroidCounts, shape: [fit.k], values: fit.counts)
        try w.write(to: dir + "/" + routingFile)
        return space
    }
}
