import TributaryCore
import TributaryModel

/// The anchor's own routing entry: centroids of the public corpus (plain k-means; the data is public,
/// so no noise), so the anchor is always a routing candidate.
public enum AnchorRouting {
    public static func centroids(_ stats: [DocumentStatistics], layers: Int, hidden: Int, clusters: Int, seed: UInt64)
        -> (tensors: [(String, [Int], [Float])], metadata: [String: String]) {
        var noise = SeededNoise(seed: seed)
        let result = LloydClustering(clusters: clusters, iterations: 10, sumNoise: nil, countNoise: nil, minClusterSize: 1, initSeed: seed)
            .fit(points: stats.flatMap(\.embedding), dimension: hidden, noise: &noise)
        let params = RoutingParameters(centroids: result.k, dimension: hidden, layers: layers, routerRowSource: "trained",
                                       privacy: PrivacyParameters(enabled: false, mechanism: "none", accountant: "none", epsilon: nil,
                                                                  delta: nil, clipNorm: 1, noiseMultipliers: [:], minClusterSize: 1,
                                                                  iterations: 10, unit: "document"))
        return ([(BundleLayout.centroids, [result.k, hidden], result.centroids), (BundleLayout.centroidCounts, [result.k], result.counts)],
                [BundleLayout.routingMetadataKey: JSONWriter.string(params.json)])
    }
}
