import Foundation
import TributaryCore
import TributaryModel

/// Whether a released signature can route, judged by its owner before anything leaves the machine:
/// the share of the owner's own documents whose nearest centroid — among the anchor's public ones and
/// the released ones — is released. DP noise larger than the signal sends them to the anchor, and a
/// server accepting such a signature would hold an expert no query ever reaches.
///
/// The check reads the private points, but what it decides is only whether the owner goes on (a
/// release is never redrawn: `train` reuses the noise it drew), so it releases nothing. Its advice —
/// how many documents or how much ε would do — comes from simulated releases with local noise that is
/// never published.
public enum SignatureCheck {
    /// The share of `points` ([n, d]) nearer (by cosine) to one of `own` ([k, d]) than to every one of
    /// `others` ([m, d]).
    public static func selfRouting(points: [Float], own: [Float], others: [Float], dimension d: Int) -> Double {
        let n = points.count / d
        guard n > 0, !own.isEmpty else { return 0 }
        func best(_ p: ArraySlice<Float>, _ set: [Float]) -> Float {
            var b = -Float.infinity
            for j in 0..<(set.count / d) {
                var s: Float = 0
                for c in 0..<d { s += p[p.startIndex + c] * set[j * d + c] }
                b = max(b, s)
            }
            return b
        }
        var hits = 0
        for i in 0..<n {
            let p = points[i * d..<(i + 1) * d]
            if best(p, own) > best(p, others) { hits += 1 }
        }
        return Double(hits) / Double(n)
    }

    /// The self-routing a one-mean release would have on average with `n` documents like these at
    /// noise multiplier `z` (σ / sensitivity of the sum), over `draws` simulated releases.
    static func simulated(points: [Float], dimension d: Int, documents n: Int, noiseMultiplier z: Double, others: [Float], draws: Int = 8) -> Double {
        let count = points.count / d
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<count { for c in 0..<d { mean[c] += Double(points[i * d + c]) / Double(count) } }
        var noise = SeededNoise(seed: 7)
        var total = 0.0
        for _ in 0..<draws {
            let centroid = VectorMath.normalized((0..<d).map { Float(mean[$0] * Double(n) + z * noise.gaussian()) })
            total += selfRouting(points: points, own: centroid, others: others, dimension: d)
        }
        return total / Double(draws)
    }

    /// What would make a one-mean signature route `target` of these documents: the fewest documents
    /// (doubling, up to 65,536) at the owner's ε, and the smallest ε (doubling, up to 64) at its
    /// document count. Nil where none in range would.
    public static func advice(points: [Float], dimension d: Int, others: [Float], options o: SignatureOptions,
                              target: Double) throws -> (documents: Int?, epsilon: Double?) {
        let n = points.count / d
        var one = o
        one.clusters = 1
        guard let z = try SignatureBuilder.plan(one)?.noiseMultiplier(.centroidSums) else { return (nil, nil) }
        var documents: Int?
        var m = max(n, 1) * 2
        while m <= 65_536 {
            if simulated(points: points, dimension: d, documents: m, noiseMultiplier: z, others: others) >= target { documents = m; break }
            m *= 2
        }
        var epsilon: Double?
        var e = o.epsilon * 2
        while e <= 64 {
            one.epsilon = e
            if let ze = try SignatureBuilder.plan(one)?.noiseMultiplier(.centroidSums),
               simulated(points: points, dimension: d, documents: n, noiseMultiplier: ze, others: others) >= target {
                epsilon = e
                break
            }
            e *= 2
        }
        return (documents, epsilon)
    }

    /// What the check found, kept next to the release (`OUT/signature-check.json`) so a resumed run
    /// decides the same way without the private points.
    public struct Outcome: Sendable, Equatable {
        public var documents: Int
        public var selfRouting: Double
        /// Simulated: the fewest documents, the smallest ε, that would reach `target` (nil: none tried).
        public var target: Double
        public var documentsNeeded: Int?
        public var epsilonNeeded: Double?

        public var summary: String {
            String(format: "it routes %.0f%% of your %d documents to your expert (the rest to the anchor's public centroids)", 100 * selfRouting, documents)
        }

        /// Throws `train.unroutable_signature` when the signature routes less than `minimum` of the
        /// owner's documents to itself, saying what would do.
        public func require(_ minimum: Double, epsilon: Double) throws {
            guard selfRouting < minimum else { return }
            var ways = [String]()
            if let n = documentsNeeded { ways.append("about \(n) documents at ε = \(epsilon)") }
            if let e = epsilonNeeded { ways.append("ε = \(e) with these \(documents) documents") }
            let advice = ways.isEmpty ? "No document count up to 65,536 and no ε up to 64 would make it route (is the text like the anchor's public text?)"
                : "It would route about \(Int(target * 100))% with " + ways.joined(separator: ", or ")
            throw TributaryError("train.unroutable_signature", String(
                format: "the DP routing signature routes only %.0f%% of your %d documents to your expert (at least %.0f%% asked, --min-self-routing): at ε = %g the noise outweighs what tells your text from the public text. %@. The release is kept in OUT and reused by a rerun (no new noise); --restart draws new noise and spends new ε, --min-self-routing 0 publishes it as it is (a server may refuse it).",
                100 * selfRouting, documents, 100 * minimum, epsilon, advice))
        }

        public var json: JSONValue {
            .object([("documents", .int(documents)), ("selfRouting", .double(selfRouting)), ("target", .double(target)),
                     ("documentsNeeded", documentsNeeded.map { .int($0) } ?? .null), ("epsilonNeeded", epsilonNeeded.map { .double($0) } ?? .null)])
        }

        public init(documents: Int, selfRouting: Double, target: Double, documentsNeeded: Int?, epsilonNeeded: Double?) {
            self.documents = documents
            self.selfRouting = selfRouting
            self.target = target
            self.documentsNeeded = documentsNeeded
            self.epsilonNeeded = epsilonNeeded
        }

        public init(json: JSONValue) throws {
            do { self = try Self.parse(json) } catch {
                throw TributaryError("train.state_mismatch", "signature-check.json: \(error.description); use --restart")
            }
        }

        static func parse(_ json: JSONValue) throws(JSONSchemaError) -> Outcome {
            var r = try JSONObjectReader(json, path: "signature-check")
            let o = Outcome(documents: try r.int("documents"), selfRouting: try r.double("selfRouting"), target: try r.double("target"),
                            documentsNeeded: try r.optionalDouble("documentsNeeded").map { Int($0) }, epsilonNeeded: try r.optionalDouble("epsilonNeeded"))
            try r.finish()
            return o
        }
    }

    /// Checks a release against the owner's own points and, when it falls short of the options'
    /// `minSelfRouting`, works out what would do.
    public static func outcome(stats: SignatureStatistics, released: RoutingSignature, publicCentroids: [Float],
                               options o: SignatureOptions) throws -> Outcome {
        let d = stats.space.dimension
        let share = selfRouting(points: stats.points, own: released.centroids, others: publicCentroids, dimension: d)
        var out = Outcome(documents: stats.documents, selfRouting: share, target: max(o.minSelfRouting, 0.5), documentsNeeded: nil, epsilonNeeded: nil)
        if share < o.minSelfRouting && !o.disabled {
            let a = try advice(points: stats.points, dimension: d, others: publicCentroids, options: o, target: out.target)
            out.documentsNeeded = a.documents
            out.epsilonNeeded = a.epsilon
        }
        return out
    }
}
