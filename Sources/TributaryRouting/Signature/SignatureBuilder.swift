import Foundation
import TributaryCore
import TributaryModel

public struct SignatureOptions: Sendable {
    public var epsilon: Double = 1
    public var delta: Double = 1e-6
    /// `--no-dp`: no noise, recorded in the statement so a server can refuse it.
    public var disabled = false
    public var clusters = 4
    public var iterations = 3
    public var minClusterSize = 32
    /// `dp-mean` (default) publishes the DP mean as router row; `trained` publishes the row after
    /// gradient training, which DP does not cover.
    public var routerRowSource = "dp-mean"
    /// Public seed for the data-independent part of the centroid initialisation.
    public var seed: UInt64 = 1
    public init() {}

    public func validate() throws {
        guard clusters >= 1, clusters <= 4096 else { throw TributaryError("dp.invalid_options", "--clusters must be in 1...4096") }
        guard iterations >= 1, iterations <= 100 else { throw TributaryError("dp.invalid_options", "--iterations must be in 1...100") }
        guard minClusterSize >= 1 else { throw TributaryError("dp.invalid_options", "--min-cluster-size must be at least 1") }
        guard ["dp-mean", "trained"].contains(routerRowSource) else {
            throw TributaryError("dp.invalid_options", "--router-rows must be dp-mean or trained")
        }
    }
}

/// Builds routing signatures from per-document statistics of the anchor.
public enum SignatureBuilder {
    /// Names of the Gaussian releases, as they appear in the statement's `noiseMultipliers`.
    public static let releaseNames = ["centroidSums", "centroidCounts", "routerRows"]

    public static func plan(_ o: SignatureOptions) throws -> PrivacyPlan? {
        try o.validate()
        guard !o.disabled else { return nil }
        return try PrivacyPlan(epsilon: o.epsilon, delta: o.delta,
                               releases: [("centroidSums", o.iterations + 1), ("centroidCounts", o.iterations + 1), ("routerRows", 1)])
    }

    /// The private (or, with `--no-dp`, plain) signature of a set of documents. `trainedRouterRows`
    /// replaces the published rows when the options ask for trained rows.
    public static func build<N: NoiseSource>(stats: [DocumentStatistics], layers L: Int, hidden C: Int, options o: SignatureOptions,
                                             plan: PrivacyPlan?, trainedRouterRows: [Float]? = nil, noise: inout N) throws -> RoutingSignature {
        guard !stats.isEmpty else { throw TributaryError("corpus.empty", "no documents to build a routing signature from") }
        // Centroids: DP-Lloyd over the unit embeddings.
        let clustering = LloydClustering(clusters: o.clusters, iterations: o.iterations, noiseMultiplier: plan?.noiseMultiplier("centroidSums"),
                                         minClusterSize: o.minClusterSize, initSeed: o.seed)
        let result = clustering.fit(points: stats.flatMap(\.embedding), dimension: C, noise: &noise)
        // Router rows: each document's per-layer mean direction (unit per layer, so the whole vector has
        // norm √L = the sensitivity), summed, noised, renormalised per layer.
        var rows = try dpRouterRows(stats, layers: L, hidden: C, noiseMultiplier: plan?.noiseMultiplier("routerRows"), noise: &noise)
        if o.routerRowSource == "trained" {
            guard let trained = trainedRouterRows, trained.count == L * C else {
                throw TributaryError("dp.invalid_options", "router rows \"trained\" requested but no trained rows were given")
            }
            rows = trained
        }
        let privacy = PrivacyParameters(
            enabled: plan != nil, mechanism: plan != nil ? "analytic-gaussian" : "none", accountant: plan != nil ? "rdp" : "none",
            epsilon: plan?.epsilon, delta: plan?.delta, clipNorm: 1,
            noiseMultipliers: plan.map { p in Dictionary(uniqueKeysWithValues: p.releases.map { ($0.name, $0.noiseMultiplier) }) } ?? [:],
            minClusterSize: o.minClusterSize, iterations: o.iterations)
        let params = RoutingParameters(centroids: result.k, dimension: C, layers: L, routerRowSource: o.routerRowSource, privacy: privacy)
        return RoutingSignature(centroids: result.centroids, counts: result.counts, routerRows: rows, parameters: params)
    }

    /// The (noisy) normalised sum of per-document per-layer mean directions, [L * C].
    public static func dpRouterRows<N: NoiseSource>(_ stats: [DocumentStatistics], layers L: Int, hidden C: Int,
                                                    noiseMultiplier z: Double?, noise: inout N) throws -> [Float] {
        var sum = [Double](repeating: 0, count: L * C)
        for s in stats {
            for l in 0..<L {
                let v = Array(s.layerMeans[l * C..<(l + 1) * C])
                let n = VectorMath.norm(v)
                guard n > 0 else { continue }
                for c in 0..<C { sum[l * C + c] += Double(v[c] / n) }
            }
        }
        if let z {
            let sigma = z * Double(L).squareRoot()
            for i in sum.indices { sum[i] += sigma * noise.gaussian() }
        }
        return VectorMath.normalizedPerRow(sum.map { Float($0) }, rows: L, cols: C)
    }
}
