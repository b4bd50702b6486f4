import Foundation
import TributaryModel

/// Expert-set routing by posterior (Branch-Train-Merge's ensemble weights, DEMix's domain posterior):
/// the combined MoE is run restricted to each candidate set of experts — the anchor alone, and the
/// anchor with each contributed expert, which is exactly that contributor's own 2-expert model — and
/// every token is predicted by the set whose restricted model has given the text read so far the
/// highest likelihood. Within the chosen set the release's router rows gate as usual.
///
/// Why: owners train their router rows against the anchor only, so token by token the rows cannot
/// tell one owner's expert from another's (measured: the right expert's mean gate 0.31–0.33 of 4),
/// and centroid signatures confuse domains that share text (licence headers in C and Python files
/// and in copyright files). The prefix's likelihood under each set tells them apart within tens of
/// bytes. The price is one forward pass per candidate set instead of one in all.
public struct PosteriorRouting: Sendable {
    /// Candidate expert sets, in order of preference on ties; the first is the anchor alone.
    public let sets: [ExpertSet]

    /// The anchor alone, then the anchor with each of experts 1..<experts.
    public init(experts: Int) {
        sets = [ExpertSet([0])] + (1..<max(1, experts)).map { ExpertSet([0, $0]) }
    }

    public struct Result: Sendable {
        public let scores: TokenScores
        /// Fraction of predicted tokens that each set predicted.
        public let shares: [Double]
    }

    /// Held-out scores of `model` (a combined MoE) on `corpus`, routed by posterior. The passes share
    /// the layers below the lowest expert layer (`prefix`, recorded by the first pass when empty).
    /// `anchorAlone`, when given, stands for the pass restricted to the anchor's expert: the anchor's
    /// own scores are the same function (its gate is exactly 1), rounding aside.
    public func tokenScores(model: Model, corpus: Corpus, prefix: PrefixStates? = nil, anchorAlone: TokenScores? = nil,
                            workers: Int = 2) -> Result {
        let counts = Windows.predictedTokenCounts(corpus, tokenizer: model.tokenizer)
        let prefix = prefix ?? PrefixStates(layer: model.config.moeLayers.first ?? 0)
        let perSet = sets.map { set in
            if set == ExpertSet([0]), let anchorAlone { return anchorAlone }
            return Evaluator.tokenScores(model: model, corpus: corpus, expertSets: counts.map { [ExpertSet](repeating: set, count: $0) },
                                         prefix: prefix, workers: workers)
        }
        return Self.switching(perSet)
    }

    /// Each token scored by the candidate with the highest log-likelihood of the document's tokens
    /// before it (ties go to the earlier candidate; the first token goes to candidate 0).
    public static func switching(_ candidates: [TokenScores]) -> Result {
        precondition(!candidates.isEmpty)
        let first = candidates[0]
        var logProbs = [[Float]](), chosen = [Int](repeating: 0, count: candidates.count), total = 0
        for d in first.logProbs.indices {
            var evidence = [Double](repeating: 0, count: candidates.count)
            var out = [Float]()
            out.reserveCapacity(first.logProbs[d].count)
            for t in first.logProbs[d].indices {
                var best = 0
                for c in 1..<candidates.count where evidence[c] > evidence[best] { best = c }
                out.append(candidates[best].logProbs[d][t])
                chosen[best] += 1
                total += 1
                for c in candidates.indices { evidence[c] += Double(candidates[c].logProbs[d][t]) }
            }
            logProbs.append(out)
        }
        return Result(scores: TokenScores(logProbs: logProbs, bytes: first.bytes),
                      shares: chosen.map { Double($0) / Double(max(total, 1)) })
    }
}

/// How a combined model's tokens are routed when it is scored or sampled.
public enum RoutingMethod: String, Sendable, CaseIterable {
    /// The release's router rows over all experts: what any Mixtral runtime computes.
    case rows
    /// Posterior routing over expert sets (`PosteriorRouting`): one forward pass per candidate set.
    case posterior
}
