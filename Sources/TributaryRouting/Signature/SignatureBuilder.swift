import Foundation
import TributaryCore
import TributaryModel

public struct SignatureOptions: Sendable {
    public var epsilon: Double = 1
    public var delta: Double = 1e-6
    /// `--no-dp`: no noise, recorded in the statement so a server can refuse it.
    public var disabled = false
    /// Centroids to fit; nil: decided from the documents, the space's dimension and ε (`resolved`).
    public var clusters: Int? = nil
    public var iterations = 2
    public var minClusterSize = 16
    /// `trained` (default, the FlexOlmo recipe) publishes the router row after gradient training, which
    /// DP does not cover; `dp-mean` publishes the DP mean and keeps the row frozen during training.
    public var routerRowSource = RouterRowSource.trained
    /// Public seed for the data-independent part of the centroid initialisation.
    public var seed: UInt64 = 1
    /// The share of the owner's own documents its released signature must route to itself (against
    /// the anchor's public centroids) for `train` to go on (`SignatureCheck`); 0 turns the check off.
    public var minSelfRouting = 0.5
    public init() {}

    public func validate() throws {
        if let k = clusters { guard k >= 1, k <= 4096 else { throw TributaryError("dp.invalid_options", "--clusters must be in 1...4096") } }
        guard iterations >= 1, iterations <= 100 else { throw TributaryError("dp.invalid_options", "--iterations must be in 1...100") }
        guard minClusterSize >= 1 else { throw TributaryError("dp.invalid_options", "--min-cluster-size must be at least 1") }
        guard minSelfRouting >= 0, minSelfRouting <= 1 else { throw TributaryError("dp.invalid_options", "--min-self-routing must be in 0...1") }
    }

    /// The noise ratio a cluster may have for more than one cluster to be worth fitting: the sum's
    /// noise norm (z·√d) over the cluster's documents (n/k) at most this. At 0.25 the noisy direction
    /// keeps a cosine ≳ 0.9 with the cluster's mean whenever that mean's norm is ≳ 0.5.
    public static let clusterNoiseRatio = 0.25

    /// With `clusters` nil, the number of clusters the data can afford: one DP mean unless every one of
    /// k clusters (of n/k documents, fitted by DP-Lloyd, whose iterations cost budget) would keep its
    /// noise ratio within `clusterNoiseRatio`. Returns the options and why, in one line.
    public func resolved(documents n: Int, dimension d: Int) throws -> (SignatureOptions, String) {
        var o = self
        if let k = clusters { return (o, "\(k) cluster\(k == 1 ? "" : "s") (--clusters)") }
        guard !disabled else {
            o.clusters = 1
            return (o, "1 cluster (no DP: one mean)")
        }
        func needed(_ k: Int) throws -> Int {
            var trial = self
            trial.clusters = k
            let z = try SignatureBuilder.plan(trial)!.noiseMultiplier(.centroidSums)!
            return Int((Double(k) * z * Double(d).squareRoot() / Self.clusterNoiseRatio).rounded(.up))
        }
        var k = 1
        while k < 8, try n >= needed(k + 1) { k += 1 }
        o.clusters = k
        let next = try needed(k + 1)
        return (o, String(format: "%d cluster%@ for %d documents at ε = %g in %d dimensions (%d clusters would need %d documents)",
                          k, k == 1 ? "" : "s", n, epsilon, d, k + 1, next))
    }
}

/// What a routing signature is built from, gathered a batch of documents at a time: each document's
/// point in the anchor's signature space (d values; what DP k-means clusters) and, per layer, the
/// sum over documents of their unit layer directions (what router rows are). A document's layer means
/// (L × C) are not kept, so a corpus of any size is described in memory that grows by d values a
/// document.
public struct SignatureStatistics: Sendable {
    public let layers: Int, hidden: Int
    public let space: SignatureSpace
    public private(set) var points: [Float] = []
    public private(set) var directionSum: [Double]
    public private(set) var documents = 0

    public init(space: SignatureSpace, layers: Int, hidden: Int) {
        self.space = space
        self.layers = layers
        self.hidden = hidden
        directionSum = [Double](repeating: 0, count: layers * hidden)
    }

    public init(_ stats: [DocumentStatistics], space: SignatureSpace, layers: Int, hidden: Int) {
        self.init(space: space, layers: layers, hidden: hidden)
        add(stats)
    }

    public mutating func add(_ stats: [DocumentStatistics]) {
        let L = layers, C = hidden
        for s in stats {
            points += space.point(of: s)
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
        LloydClustering(clusters: o.clusters ?? 1, iterations: o.iterations, sumNoise: plan?.noiseMultiplier(.centroidSums),
                        countNoise: plan?.noiseMultiplier(.centroidCounts), minClusterSize: o.minClusterSize, initSeed: o.seed)
    }

    /// DP-Lloyd over the documents' points (one cluster: the DP mean).
    public static func releaseCentroids<N: NoiseSource>(_ stats: SignatureStatistics, options o: SignatureOptions,
                                                        plan: PrivacyPlan?, noise: inout N) throws -> LloydClustering.Result {
        guard stats.documents > 0 else { throw TributaryError("corpus.empty", "no documents to build a routing signature from") }
        return clustering(o, plan: plan).fit(points: stats.points, dimension: stats.space.dimension, noise: &noise)
    }

    /// The router rows an owner starts training from: the DP mean when the plan releases router rows,
    /// else the plain mean (used only as a starting point for rows that are then trained and
    /// published as trained, which DP does not cover either way).
    public static func initialRouterRows<N: NoiseSource>(_ stats: SignatureStatistics, plan: PrivacyPlan?, noise: inout N) -> [Float] {
        routerRows(stats, noiseMultiplier: plan?.noiseMultiplier(.routerRows), noise: &noise)
    }

    public static func assemble(centroids: LloydClustering.Result, routerRows: [Float], layers L: Int, hidden C: Int,
                                space: SignatureSpace, options o: SignatureOptions, plan: PrivacyPlan?) -> RoutingSignature {
        let privacy = PrivacyParameters(
            enabled: plan != nil, mechanism: plan != nil ? "analytic-gaussian" : "none", accountant: plan != nil ? "rdp" : "none",
            epsilon: plan?.epsilon, delta: plan?.delta, clipNorm: 1,
            noiseMultipliers: plan.map { p in Dictionary(uniqueKeysWithValues: p.releases.map { ($0.name, $0.noiseMultiplier) }) } ?? [:],
            minClusterSize: o.minClusterSize, iterations: clustering(o, plan: plan).iterations)
        let params = RoutingParameters(centroids: centroids.k, dimension: C, layers: L, routerRowSource: o.routerRowSource, privacy: privacy,
                                       space: space.parameters)
        return RoutingSignature(centroids: centroids.centroids, counts: centroids.counts, routerRows: routerRows, parameters: params)
    }

    /// Centroids and initial router rows in one go (the router rows are final for `dp-mean`).
    public static func build<N: NoiseSource>(stats: SignatureStatistics, options o: SignatureOptions,
                                             plan: PrivacyPlan?, noise: inout N) throws -> RoutingSignature {
        let centroids = try releaseCentroids(stats, options: o, plan: plan, noise: &noise)
        let rows = initialRouterRows(stats, plan: plan, noise: &noise)
        return assemble(centroids: centroids, routerRows: rows, layers: stats.layers, hidden: stats.hidden, space: stats.space, options: o, plan: plan)
    }

    /// Router rows of a set of documents, [L * C]: per layer, the sum over documents of each
    /// document's mean FFN-input direction, plus Gaussian noise when `noiseMultiplier` is given,
    /// L2-normalised (mergekit's "hidden" gate, with every document weighing the same). Each
    /// document's vector is unit per layer, so its norm is √L: the sensitivity the noise is scaled to.
    /// The one computation of router rows: the anchor's (public, no noise), an owner's DP release and
    /// an owner's non-private starting point all come from here.
    public static func routerRows<N: NoiseSource>(_ stats: SignatureStatistics, noiseMultiplier z: Double?, noise: inout N) -> [Float] {
        let L = stats.layers, C = stats.hidden
        var sum = stats.directionSum
        if let z {
            let sigma = z * Double(L).squareRoot()
            for i in sum.indices { sum[i] += sigma * noise.gaussian() }
        }
        return VectorMath.normalizedPerRow(sum.map { Float($0) }, rows: L, cols: C)
    }

    /// The noiseless router rows of public documents (the anchor's).
    public static func publicRouterRows(_ stats: SignatureStatistics) -> [Float] {
        var unused = SeededNoise(seed: 0)
        return routerRows(stats, noiseMultiplier: nil, noise: &unused)
    }
}
