import Foundation
import TributaryCore
import TributaryModel

public struct SignatureOptions: Sendable {
    public var epsilon: Double = 1
    public var delta: Double = 1e-6
    /// `--no-dp`: no noise, recorded in the statement so a server can refuse it.
    public var disabled = false
    public var clusters = 2
    public var iterations = 2
    public var minClusterSize = 32
    /// `trained` (default, the FlexOlmo recipe) publishes the router row after gradient training, which
    /// DP does not cover; `dp-mean` publishes the DP mean and keeps the row frozen during training.
    public var routerRowSource = RouterRowSource.trained
    /// Public seed for the data-independent part of the centroid initialisation.
    public var seed: UInt64 = 1
    public init() {}

    public func validate() throws {
        guard clusters >= 1, clusters <= 4096 else { throw TributaryError("dp.invalid_options", "--clusters must be in 1...4096") }
        guard iterations >= 1, iterations <= 100 else { throw TributaryError("dp.invalid_options", "--iterations must be in 1...100") }
        guard minClusterSize >= 1 else { throw TributaryError("dp.invalid_options", "--min-cluster-size must be at least 1") }
    }
}

/// What a routing signature is built from, gathered a batch of documents at a time: each document's
/// unit embedding (C values; what DP k-means clusters) and, per layer, the sum over documents of their
/// unit layer directions (what router rows are). A document's layer means (L × C) are not kept, so a
/// corpus of any size is described in memory that grows by C values a document.
public struct SignatureStatistics: Sendable {
    public let layers: Int, dimension: Int
    public private(set) var embeddings: [Float] = []
    public private(set) var directionSum: [Double]
    public private(set) var documents = 0

    public init(layers: Int, dimension: Int) {
        self.layers = layers
        self.dimension = dimension
        directionSum = [Double](repeating: 0, count: layers * dimension)
    }

    public init(_ stats: [DocumentStatistics], layers: Int, dimension: Int) {
        self.init(layers: layers, dimension: dimension)
        add(stats)
    }

    public mutating func add(_ stats: [DocumentStatistics]) {
        let L = layers, C = dimension
        for s in stats {
            embeddings += s.embedding
            documents += 1
            for l in 0..<L {
                let v = Array(s.layerMeans[l * C..<(l + 1) * C])
                let n = VectorMath.norm(v)
                guard n > 0 else { continue }
                for c in 0..<C { directionSum[l * C + c] += Double(v[c] / n) }
            }
        }
    }
}

/// Builds routing signatures from per-document statistics of the anchor, in two releases that the
/// pipeline makes at different times: centroids (and, for `dp-mean`, router rows) before training,
/// the trained router rows (for `trained`) after.
public enum SignatureBuilder {

    public static func plan(_ o: SignatureOptions) throws -> PrivacyPlan? {
        try o.validate()
        guard !o.disabled else { return nil }
        return try PrivacyPlan(epsilon: o.epsilon, delta: o.delta,
                               releases: DPSchedule.releases(iterations: clustering(o, plan: nil).iterations, routerRows: o.routerRowSource))
    }

    static func clustering(_ o: SignatureOptions, plan: PrivacyPlan?) -> LloydClustering {
        LloydClustering(clusters: o.clusters, iterations: o.iterations, sumNoise: plan?.noiseMultiplier(.centroidSums),
                        countNoise: plan?.noiseMultiplier(.centroidCounts), minClusterSize: o.minClusterSize, initSeed: o.seed)
    }

    /// DP-Lloyd over the documents' unit embeddings.
    public static func releaseCentroids<N: NoiseSource>(_ stats: SignatureStatistics, options o: SignatureOptions,
                                                        plan: PrivacyPlan?, noise: inout N) throws -> LloydClustering.Result {
        guard stats.documents > 0 else { throw TributaryError("corpus.empty", "no documents to build a routing signature from") }
        return clustering(o, plan: plan).fit(points: stats.embeddings, dimension: stats.dimension, noise: &noise)
    }

    /// The router rows an owner starts training from: the DP mean when the plan releases router rows,
    /// else the plain mean (used only as a starting point for rows that are then trained and
    /// published as trained, which DP does not cover either way).
    public static func initialRouterRows<N: NoiseSource>(_ stats: SignatureStatistics, plan: PrivacyPlan?, noise: inout N) -> [Float] {
        routerRows(stats, noiseMultiplier: plan?.noiseMultiplier(.routerRows), noise: &noise)
    }

    public static func assemble(centroids: LloydClustering.Result, routerRows: [Float], layers L: Int, hidden C: Int,
                                options o: SignatureOptions, plan: PrivacyPlan?) -> RoutingSignature {
        let privacy = PrivacyParameters(
            enabled: plan != nil, mechanism: plan != nil ? "analytic-gaussian" : "none", accountant: plan != nil ? "rdp" : "none",
            epsilon: plan?.epsilon, delta: plan?.delta, clipNorm: 1,
            noiseMultipliers: plan.map { p in Dictionary(uniqueKeysWithValues: p.releases.map { ($0.name, $0.noiseMultiplier) }) } ?? [:],
            minClusterSize: o.minClusterSize, iterations: clustering(o, plan: plan).iterations)
        let params = RoutingParameters(centroids: centroids.k, dimension: C, layers: L, routerRowSource: o.routerRowSource, privacy: privacy)
        return RoutingSignature(centroids: centroids.centroids, counts: centroids.counts, routerRows: routerRows, parameters: params)
    }

    /// Centroids and initial router rows in one go (the router rows are final for `dp-mean`).
    public static func build<N: NoiseSource>(stats: SignatureStatistics, options o: SignatureOptions,
                                             plan: PrivacyPlan?, noise: inout N) throws -> RoutingSignature {
        let centroids = try releaseCentroids(stats, options: o, plan: plan, noise: &noise)
        let rows = initialRouterRows(stats, plan: plan, noise: &noise)
        return assemble(centroids: centroids, routerRows: rows, layers: stats.layers, hidden: stats.dimension, options: o, plan: plan)
    }

    /// Router rows of a set of documents, [L * C]: per layer, the sum over documents of each
    /// document's mean FFN-input direction, plus Gaussian noise when `noiseMultiplier` is given,
    /// L2-normalised (mergekit's "hidden" gate, with every document weighing the same). Each
    /// document's vector is unit per layer, so its norm is √L: the sensitivity the noise is scaled to.
    /// The one computation of router rows: the anchor's (public, no noise), an owner's DP release and
    /// an owner's non-private starting point all come from here.
    public static func routerRows<N: NoiseSource>(_ stats: SignatureStatistics, noiseMultiplier z: Double?, noise: inout N) -> [Float] {
        let L = stats.layers, C = stats.dimension
        var sum = stats.directionSum
        if let z {
            let sigma = z * Double(L).squareRoot()
            for i in sum.indices { sum[i] += sigma * noise.gaussian() }
        }
        return VectorMath.normalizedPerRow(sum.map { Float($0) }, rows: L, cols: C)
    }

    /// The noiseless router rows of public documents (the anchor's).
    public static func publicRouterRows(_ stats: [DocumentStatistics], layers L: Int, hidden C: Int) -> [Float] {
        var unused = SeededNoise(seed: 0)
        return routerRows(SignatureStatistics(stats, layers: L, dimension: C), noiseMultiplier: nil, noise: &unused)
    }
}
