import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// The routing-signature benchmark: for each way of measuring documents (layer, projection), each
/// owner publishes a DP mean of its first n training documents at ε, and held-out documents are
/// routed to the nearest centroid among every owner's and the anchor's public ones. Accuracy: the
/// share of an owner's held-out documents whose nearest centroid is its own, and of public held-out
/// documents whose nearest is the anchor's. DP noise is drawn with several seeds and averaged.
public struct SignatureStudy: Sendable {
    public struct Space: Sendable, Hashable, CustomStringConvertible {
        /// Layer of the feed-forward input averaged (L: the final normalised state).
        public var layer: Int
        /// Projected dimension (0: none, the whole hidden state centred on the public mean).
        public var dimension: Int
        public var drop: Int
        public var whiten: Bool
        public init(layer: Int, dimension: Int, drop: Int, whiten: Bool) {
            self.layer = layer
            self.dimension = dimension
            self.drop = drop
            self.whiten = whiten
        }
        public var description: String {
            dimension == 0 ? "layer \(layer), all dims" : "layer \(layer), d \(dimension), drop \(drop)\(whiten ? ", whitened" : "")"
        }
    }

    public struct Split: Sendable {
        public let pool: [Int]      // training documents, in order
        public let heldOut: [Int]
    }

    public let publicMeans: LayerMeans
    public var publicSplit: Split
    public let owners: [(name: String, means: LayerMeans, split: Split)]
    public var publicClusters = 8
    public var seeds = 5
    public var delta = 1e-5

    public init(publicMeans: LayerMeans, publicSplit: Split, owners: [(name: String, means: LayerMeans, split: Split)]) {
        self.publicMeans = publicMeans
        self.publicSplit = publicSplit
        self.owners = owners
    }

    /// Held out: the documents `Corpus.isHeldOut` puts there at `fraction`.
    public static func split(_ corpus: Corpus, fraction: Double) -> Split {
        var pool = [Int](), held = [Int]()
        for (i, d) in corpus.documents.enumerated() {
            if Corpus.isHeldOut(d, fraction: fraction) { held.append(i) } else { pool.append(i) }
        }
        return Split(pool: pool, heldOut: held)
    }

    /// A space's projection, fitted on the public pool, and the function mapping a document's layer
    /// mean to its point.
    struct Fitted {
        let point: (ArraySlice<Float>) -> [Float]
        let dimension: Int
    }

    /// Principal directions per layer, computed once (the most any space asks for) and sliced.
    final class Directions: @unchecked Sendable {
        var byLayer: [Int: (center: [Float], vectors: [Double], values: [Double], count: Int)] = [:]
    }

    func fit(_ s: Space, directions: Directions, maxComponents: Int) -> Fitted {
        let C = publicMeans.hidden
        let rows = publicSplit.pool.flatMap { publicMeans.row($0, layer: s.layer) }
        if s.dimension == 0 {
            var center = [Double](repeating: 0, count: C)
            for i in 0..<publicSplit.pool.count { for c in 0..<C { center[c] += Double(rows[i * C + c]) } }
            let mean = center.map { Float($0 / Double(max(publicSplit.pool.count, 1))) }
            return Fitted(point: { x in VectorMath.normalized(zip(x, mean).map { $0 - $1 }) }, dimension: C)
        }
        if directions.byLayer[s.layer] == nil {
            let fitted = try! SignatureSpace.fit(layerMeans: rows, hidden: C, layer: s.layer, dimension: maxComponents, drop: 0, whiten: false)
            let k = maxComponents
            // Recover eigenvalues for whitening: variance of the public points along each direction.
            var values = [Double](repeating: 0, count: k)
            for i in 0..<publicSplit.pool.count {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0..<C { s += Double(fitted.projection![r * C + c]) * (Double(rows[i * C + c]) - Double(fitted.center[c])) }
                    values[r] += s * s
                }
            }
            directions.byLayer[s.layer] = (fitted.center, fitted.projection!.map { Double($0) }, values.map { $0 / Double(max(publicSplit.pool.count - 1, 1)) }, k)
        }
        let d = directions.byLayer[s.layer]!
        var projection = [Float]()
        for r in s.drop..<(s.drop + s.dimension) {
            let scale = s.whiten ? 1 / max(d.values[r], 1e-12).squareRoot() : 1
            projection += d.vectors[r * C..<(r + 1) * C].map { Float($0 * scale) }
        }
        let space = SignatureSpace(layer: s.layer, center: d.center, projection: projection)
        return Fitted(point: { space.point($0) }, dimension: s.dimension)
    }

    /// What each owner releases.
    public enum Release: Sendable, Hashable, CustomStringConvertible {
        /// One DP mean (a noisy sum and count): Tributary's default.
        case mean
        /// DP-Lloyd with k clusters and 2 iterations (3 rounds of sums and counts).
        case lloyd(Int)
        /// One public document chosen by the exponential mechanism (DPPL-Public, Wahdany et al. 2025):
        /// utility Σ_i ⟨x_i, p⟩ over the owner's points (sensitivity 1), from the public pool.
        case publicPrototype

        public var description: String {
            switch self {
            case .mean: return "DP mean"
            case let .lloyd(k): return "DP-Lloyd k = \(k)"
            case .publicPrototype: return "public prototype (exponential mechanism)"
            }
        }
    }

    public struct Result: Sendable {
        public let space: Space
        public var release: Release = .mean
        public let epsilon: Double?
        public let documents: Int
        /// Per owner, the share of its held-out documents routed to it; and public to the anchor.
        public let owners: [String: Double]
        public let publicToAnchor: Double
        public var meanOwner: Double { owners.values.reduce(0, +) / Double(max(owners.count, 1)) }
        public var minOwner: Double { owners.values.min() ?? 0 }
    }

    /// Accuracy of `space` with owners publishing a DP mean of their first `n` pool documents at `epsilon`
    /// (nil: no noise), averaged over `seeds` noise draws.
    func evaluate(_ fitted: Fitted, space: Space, n: Int, epsilon: Double?, release: Release = .mean) throws -> Result {
        let D = fitted.dimension
        func points(_ m: LayerMeans, _ docs: [Int]) -> [Float] { docs.flatMap { fitted.point(m.row($0, layer: space.layer)) } }
        let publicPool = points(publicMeans, publicSplit.pool)
        var none = SeededNoise(seed: 0)
        let anchor = LloydClustering(clusters: publicClusters, iterations: 10, sumNoise: nil, countNoise: nil, minClusterSize: 1, initSeed: 1)
            .fit(points: publicPool, dimension: D, noise: &none)
        let iterations = { if case .lloyd = release { return 2 } else { return 0 } }()
        let plan = try epsilon.map { try PrivacyPlan(epsilon: $0, delta: delta, releases: DPSchedule.releases(iterations: iterations, routerRows: .trained)) }
        let heldPublic = points(publicMeans, publicSplit.heldOut)
        let held = owners.map { points($0.means, $0.split.heldOut) }
        let pools = owners.map { points($0.means, Array($0.split.pool.prefix(n))) }
        var correct = [Double](repeating: 0, count: owners.count), publicCorrect = 0.0
        let seedCount = epsilon == nil ? 1 : seeds
        for seed in 0..<seedCount {
            var centroids = anchor.centroids, owner = [Int](repeating: -1, count: anchor.k)
            for (o, pool) in pools.enumerated() {
                var noise = SeededNoise(seed: UInt64(1000 * seed + o + 1))
                switch release {
                case .mean, .lloyd:
                    let k = { if case let .lloyd(k) = release { return k } else { return 1 } }()
                    let fit = LloydClustering(clusters: k, iterations: iterations, sumNoise: plan?.noiseMultiplier(.centroidSums),
                                              countNoise: plan?.noiseMultiplier(.centroidCounts), minClusterSize: 1, initSeed: 1)
                        .fit(points: pool, dimension: D, noise: &noise)
                    centroids += fit.centroids
                    owner += [Int](repeating: o, count: fit.k)
                case .publicPrototype:
                    let j = Self.exponentialMechanism(points: pool, candidates: publicPool, dimension: D, epsilon: epsilon, noise: &noise)
                    centroids += publicPool[j * D..<(j + 1) * D]
                    owner.append(o)
                }
            }
            func nearest(_ q: ArraySlice<Float>) -> Int {
                var best = -2, bestScore = -Float.infinity
                for j in 0..<owner.count {
                    var s: Float = 0
                    for c in 0..<D { s += q[q.startIndex + c] * centroids[j * D + c] }
                    if s > bestScore { bestScore = s; best = owner[j] }
                }
                return best
            }
            for (o, h) in held.enumerated() {
                let count = h.count / D
                var hits = 0
                for i in 0..<count where nearest(h[i * D..<(i + 1) * D]) == o { hits += 1 }
                correct[o] += Double(hits) / Double(max(count, 1))
            }
            let pc = heldPublic.count / D
            var hits = 0
            for i in 0..<pc where nearest(heldPublic[i * D..<(i + 1) * D]) == -1 { hits += 1 }
            publicCorrect += Double(hits) / Double(max(pc, 1))
        }
        return Result(space: space, release: release, epsilon: epsilon, documents: n,
                      owners: Dictionary(uniqueKeysWithValues: owners.enumerated().map { ($0.element.name, correct[$0.offset] / Double(seedCount)) }),
                      publicToAnchor: publicCorrect / Double(seedCount))
    }

    /// The index of the candidate ([m, d]) the exponential mechanism picks for `points` ([n, d]) at
    /// `epsilon` (nil: the best), by the Gumbel-max trick: argmax of ε·u/2 + Gumbel noise.
    static func exponentialMechanism<N: NoiseSource>(points: [Float], candidates: [Float], dimension d: Int, epsilon: Double?, noise: inout N) -> Int {
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<(points.count / d) { for c in 0..<d { mean[c] += Double(points[i * d + c]) } }
        var best = 0, bestScore = -Double.infinity
        var rng = RNG(seed: UInt64(abs(noise.gaussian() * 1e9)))
        for j in 0..<(candidates.count / d) {
            var u = 0.0
            for c in 0..<d { u += mean[c] * Double(candidates[j * d + c]) }
            var score = u
            if let e = epsilon {
                let uniform = (Double(rng.next() >> 11) + 0.5) * 0x1p-53
                score = e * u / 2 - log(-log(uniform))
            }
            if score > bestScore { bestScore = score; best = j }
        }
        return best
    }

    public struct Outcome: Sendable {
        /// Every space at ε = 1, 64 documents per owner, one DP mean.
        public var screen: [Result] = []
        /// The best space over ε and documents per owner.
        public var grid: [Result] = []
        /// The best space, other releases, at ε = 1.
        public var releases: [Result] = []
        /// The best space fitted on fewer public documents (ε = 1, 64 documents per owner).
        public var publicDocuments: [(count: Int, result: Result)] = []
    }

    /// Every space at one setting, then for the best of them: the grid of ε and documents, the other
    /// releases, and fits on fewer public documents.
    public func run(spaces: [Space], epsilons: [Double?], documents: [Int], log: (String) -> Void) throws -> Outcome {
        let directions = Directions()
        let maxComponents = spaces.map { $0.dimension + $0.drop }.max() ?? 16
        var out = Outcome()
        for s in spaces {
            let fitted = fit(s, directions: directions, maxComponents: maxComponents)
            let r = try evaluate(fitted, space: s, n: 64, epsilon: 1)
            out.screen.append(r)
            log(String(format: "%@: owners %.1f%% (worst %.1f%%), public %.1f%% at ε = 1, 64 documents", s.description,
                       100 * r.meanOwner, 100 * r.minOwner, 100 * r.publicToAnchor))
        }
        // The best: highest worst-owner accuracy, then public.
        guard let best = out.screen.max(by: { ($0.minOwner + $0.publicToAnchor) < ($1.minOwner + $1.publicToAnchor) })?.space else { return out }
        let fitted = fit(best, directions: directions, maxComponents: maxComponents)
        for n in documents {
            for e in epsilons { out.grid.append(try evaluate(fitted, space: best, n: n, epsilon: e)) }
        }
        for n in [64, 256] {
            for r in [Release.mean, .lloyd(2), .lloyd(4), .publicPrototype] {
                out.releases.append(try evaluate(fitted, space: best, n: n, epsilon: 1, release: r))
            }
        }
        for m in [48, 64, 128, 256, 512] where m > best.dimension + best.drop && m < publicSplit.pool.count {
            var fewer = self
            // Every m-th document, so each public source keeps its share.
            let step = Double(publicSplit.pool.count) / Double(m)
            fewer.publicSplit = Split(pool: (0..<m).map { publicSplit.pool[Int(Double($0) * step)] }, heldOut: publicSplit.heldOut)
            let f = fewer.fit(best, directions: Directions(), maxComponents: best.dimension + best.drop)
            out.publicDocuments.append((m, try fewer.evaluate(f, space: best, n: 64, epsilon: 1)))
        }
        return out
    }
}
