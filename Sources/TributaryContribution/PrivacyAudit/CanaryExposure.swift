import Foundation
import TributaryCore
import TributaryModel

/// Canaries (Carlini et al., "The Secret Sharer", USENIX Security 2019): random secrets of a fixed
/// format planted in an owner's documents; a model that memorised one ranks it above the other
/// candidates of the format. Exposure = log₂|R| − log₂ rank, where R is every secret of the format
/// (10⁹ here). The rank is extrapolated from sampled candidates (the paper's §4.3): their
/// log-likelihoods are fitted by a normal distribution and rank ≈ 1 + |R|·P(candidate ≥ canary).
public enum CanaryExposure {
    /// The format: a fixed sentence with nine random digits (|R| = 10⁹).
    public static let digits = 9
    public static var candidateSpace: Double { pow(10, Double(digits)) }

    public static func text(secret: String) -> String { "The access code for the vault is \(secret).\n" }

    /// `count` random secrets (distinct), from `rng`.
    public static func secrets(_ count: Int, rng: inout RNG) -> [String] {
        var out = [String](), seen = Set<String>()
        while out.count < count {
            let s = String((0..<digits).map { _ in Character(String(rng.below(10))) })
            if seen.insert(s).inserted { out.append(s) }
        }
        return out
    }

    /// A canary planted by `plant`: its secret, how often, and into which documents (indices).
    public struct Planted: Sendable {
        public let secret: String
        public let repetitions: Int
        public let documents: [Int]
    }

    /// Plants one canary per value of `repetitions`, each appended (on its own line) to that many
    /// distinct documents of `texts` drawn from `rng`. Throws when a value is below 1 or above the
    /// number of documents.
    public static func plant(into texts: inout [[UInt8]], repetitions: [Int], rng: inout RNG) throws -> [Planted] {
        guard let most = repetitions.max(), repetitions.allSatisfy({ $0 >= 1 }), most <= texts.count else {
            throw TributaryError("audit.invalid_canaries", "each canary's repetitions must be 1 to the \(texts.count) documents, got \(repetitions)")
        }
        let secrets = secrets(repetitions.count, rng: &rng)
        var planted = [Planted]()
        for (secret, times) in zip(secrets, repetitions) {
            var chosen = Set<Int>()
            while chosen.count < times { chosen.insert(rng.below(texts.count)) }
            for d in chosen.sorted() { texts[d] += Array(("\n" + text(secret: secret)).utf8) }
            planted.append(Planted(secret: secret, repetitions: times, documents: chosen.sorted()))
        }
        return planted
    }

    public struct Result: Sendable {
        public let secret: String
        /// How many times the canary was planted (reported, not used).
        public let repetitions: Int
        /// Exposure by the fitted normal, capped at log₂|R|.
        public let exposure: Double
        /// The canary's rank among the sampled candidates (1 = above all of them).
        public let sampledRank: Int
        public let candidates: Int
    }

    /// Exposure of each canary under `model`, from `candidates` random secrets (other than the canaries).
    public static func measure(model: Model, canaries: [(secret: String, repetitions: Int)], candidates: Int, seed: UInt64 = 7,
                               workers: Int = 2) throws -> [Result] {
        guard candidates >= 100 else { throw TributaryError("audit.invalid_options", "exposure needs at least 100 candidates, got \(candidates)") }
        var rng = RNG(seed: seed)
        let planted = Set(canaries.map(\.secret))
        let pool = secrets(candidates + planted.count, rng: &rng).filter { !planted.contains($0) }.prefix(candidates)
        func logLikelihoods(_ secrets: [String]) -> [Double] {
            let corpus = Corpus(documents: secrets.enumerated().map { Corpus.Document(source: "c\($0.offset)", bytes: Array(text(secret: $0.element).utf8)) })
            return Evaluator.tokenScores(model: model, corpus: corpus, workers: workers).logProbs.map { $0.reduce(0) { $0 + Double($1) } }
        }
        let reference = logLikelihoods(Array(pool))
        let mean = reference.reduce(0, +) / Double(reference.count)
        let sd = max(1e-12, (reference.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(reference.count - 1)).squareRoot())
        let scored = logLikelihoods(canaries.map(\.secret))
        return zip(canaries, scored).map { c, ll in
            // P(a candidate is at least as likely as the canary) under the fitted normal.
            let above = 0.5 * erfc((ll - mean) / (sd * 2.0.squareRoot()))
            let rank = 1 + candidateSpace * above
            let exposure = min(log2(candidateSpace), max(0, log2(candidateSpace) - log2(rank)))
            return Result(secret: c.secret, repetitions: c.repetitions, exposure: exposure,
                          sampledRank: 1 + reference.filter { $0 >= ll }.count, candidates: reference.count)
        }
    }
}
