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

/// Posterior routing over a shortlist, so its cost grows with the shortlist and not with the number
/// of experts: document d's token t chooses among the anchor alone and the anchor with each expert
/// that some token of d up to t shortlisted (`SignatureRouting.expertSets`: the experts whose DP
/// signatures lie nearest the text read so far, which is causal). Each expert's restricted pass reads
/// only the documents that shortlisted it; with every expert on every shortlist this is exactly
/// `PosteriorRouting.tokenScores`.
extension PosteriorRouting {
    public func tokenScores(model: Model, corpus: Corpus, shortlist: [[ExpertSet]], anchorAlone: TokenScores? = nil,
                            workers: Int = 2) -> Result {
        let E = model.config.numExperts
        let counts = Windows.predictedTokenCounts(corpus, tokenizer: model.tokenizer)
        precondition(shortlist.count == counts.count && zip(shortlist, counts).allSatisfy { $0.count == $1 }, "one shortlist per predicted token")
        let named = shortlist.map { tokens in tokens.map { ($0.members ?? Array(0..<E)).filter { $0 > 0 && $0 < E } } }
        let anchor = anchorAlone ?? Evaluator.tokenScores(model: model, corpus: corpus,
                                                          expertSets: counts.map { [ExpertSet](repeating: ExpertSet([0]), count: $0) }, workers: workers)
        // Expert e's pass, over the documents that shortlisted it.
        var perExpert = [Int: [Int: [Float]]]()
        let unions = named.map { Set($0.joined()) }
        for e in Set(unions.joined()).sorted() {
            let docs = unions.indices.filter { unions[$0].contains(e) }
            let sub = Corpus(documents: docs.map { corpus.documents[$0] })
            let s = Evaluator.tokenScores(model: model, corpus: sub,
                                          expertSets: docs.map { [ExpertSet](repeating: ExpertSet([0, e]), count: counts[$0]) }, workers: workers)
            for (i, d) in docs.enumerated() { perExpert[e, default: [:]][d] = s.logProbs[i] }
        }
        return Self.shortlistedSwitching(anchor: anchor, experts: perExpert, shortlist: named, experts: E)
    }

    /// Each token scored by the candidate with the most evidence from the document's earlier tokens,
    /// among the anchor (candidate 0, preferred on ties) and the experts shortlisted so far (ties to
    /// the lower index). `experts[e][d]`: expert e's log-probabilities on document d, for every
    /// document whose shortlist names e. Shares are per expert set: anchor alone, then anchor + e.
    static func shortlistedSwitching(anchor: TokenScores, experts: [Int: [Int: [Float]]], shortlist: [[[Int]]], experts E: Int) -> Result {
        var logProbs = [[Float]](), chosen = [Int](repeating: 0, count: max(E, 1)), total = 0
        for d in anchor.logProbs.indices {
            var evidence = [Int: Double]()   // expert → log-likelihood of the document's tokens so far
            var anchorEvidence = 0.0, allowed = [Int]()
            let scored = experts.compactMap { e, docs in docs[d].map { (e, $0) } }   // this document's passes
            var out = [Float]()
            out.reserveCapacity(anchor.logProbs[d].count)
            for t in anchor.logProbs[d].indices {
                for e in shortlist[d][t] where !allowed.contains(e) { allowed.append(e) }
                var best = 0, bestEvidence = anchorEvidence
                for e in allowed.sorted() where (evidence[e] ?? 0) > bestEvidence { best = e; bestEvidence = evidence[e] ?? 0 }
                out.append(best == 0 ? anchor.logProbs[d][t] : experts[best]![d]![t])
                chosen[best] += 1
                total += 1
                anchorEvidence += Double(anchor.logProbs[d][t])
                for (e, lp) in scored { evidence[e, default: 0] += Double(lp[t]) }
            }
            logProbs.append(out)
        }
        return Result(scores: TokenScores(logProbs: logProbs, bytes: anchor.bytes), shares: chosen.map { Double($0) / Double(max(total, 1)) })
    }
}
