import Foundation
import TributaryCore
import TributaryModel

/// Membership inference with the anchor as the reference model (the loss-ratio attack, as EZ-MIA and
/// the likelihood-ratio attacks use a reference): a document scores its mean log-likelihood per token
/// under the audited model minus under the anchor. Training documents the model memorised score
/// high; documents it never saw score about what the anchor's own generalisation gives.
public struct MembershipInference: Sendable {
    /// Area under the ROC curve of member vs non-member scores, with a 95% interval (Hanley & McNeil 1982).
    public let auc: Double
    public let aucInterval: ClosedRange<Double>
    /// True-positive rate at the score threshold that lets through at most 1% (0.1%) of non-members,
    /// with 95% Wilson intervals over the members.
    public let tprAt1Percent: Double
    public let tprAt1PercentInterval: ClosedRange<Double>
    public let tprAtTenthPercent: Double
    public let tprAtTenthPercentInterval: ClosedRange<Double>
    public let members: Int
    public let nonMembers: Int

    /// Scores every document of `members` and `nonMembers` under `model` and `anchor`.
    public static func run(model: Model, anchor: Model, members: Corpus, nonMembers: Corpus, workers: Int = 2) throws -> MembershipInference {
        guard members.documents.count >= 2, nonMembers.documents.count >= 2 else {
            throw TributaryError("audit.too_few_documents", "membership inference needs at least 2 members and 2 non-members (got \(members.documents.count) and \(nonMembers.documents.count))")
        }
        func scores(_ c: Corpus) -> [Double] {
            let m = Evaluator.tokenScores(model: model, corpus: c, workers: workers)
            let a = Evaluator.tokenScores(model: anchor, corpus: c, workers: workers)
            var out = [Double]()
            for (mine, ref) in zip(m.logProbs, a.logProbs) {
                let own: Double = mine.reduce(0) { $0 + Double($1) }, reference: Double = ref.reduce(0) { $0 + Double($1) }
                out.append((own - reference) / Double(max(1, mine.count)))
            }
            return out
        }
        return MembershipInference(memberScores: scores(members), nonMemberScores: scores(nonMembers))
    }

    /// The statistics of given scores (higher: more likely a member).
    public init(memberScores m: [Double], nonMemberScores n: [Double]) {
        members = m.count
        nonMembers = n.count
        // AUC = P(member > non-member) + ½ P(tie), by a merge of the sorted scores.
        let ns = n.sorted()
        var wins = 0.0
        for s in m {
            let below = Self.countBelow(ns, s), belowOrEqual = Self.countBelow(ns, s.nextUp)
            wins += Double(below) + 0.5 * Double(belowOrEqual - below)
        }
        let a = wins / Double(m.count * n.count)
        auc = a
        // Hanley & McNeil (1982): Var = [A(1−A) + (n₁−1)(Q₁−A²) + (n₂−1)(Q₂−A²)] / (n₁n₂).
        let q1 = a / (2 - a), q2 = 2 * a * a / (1 + a)
        let variance = (a * (1 - a) + Double(m.count - 1) * (q1 - a * a) + Double(n.count - 1) * (q2 - a * a)) / Double(m.count * n.count)
        let half = 1.96 * max(0, variance).squareRoot()
        aucInterval = max(0, a - half)...min(1, a + half)
        func tpr(atFPR fpr: Double) -> (Double, ClosedRange<Double>) {
            // The lowest threshold with at most ⌊fpr·n⌋ non-members strictly above it.
            let allowed = Int((fpr * Double(n.count)).rounded(.down))
            let threshold = ns[ns.count - 1 - min(allowed, ns.count - 1)]
            let hits = m.filter { $0 > threshold }.count
            return (Double(hits) / Double(m.count), Self.wilson(hits, m.count))
        }
        (tprAt1Percent, tprAt1PercentInterval) = tpr(atFPR: 0.01)
        (tprAtTenthPercent, tprAtTenthPercentInterval) = tpr(atFPR: 0.001)
    }

    static func countBelow(_ sorted: [Double], _ x: Double) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// The 95% Wilson score interval of k successes in n trials.
    static func wilson(_ k: Int, _ n: Int) -> ClosedRange<Double> {
        let z = 1.96, p = Double(k) / Double(n), nn = Double(n)
        let centre = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / (1 + z * z / nn)
        return max(0, centre - half)...min(1, centre + half)
    }

    /// The false-positive rate the 0.1% figure can resolve: below 1/non-members it is 0 by construction.
    public var resolvesTenthPercent: Bool { nonMembers >= 1000 }

    public var json: JSONValue {
        .object([("auc", .double(auc)), ("aucInterval", .array([.double(aucInterval.lowerBound), .double(aucInterval.upperBound)])),
                 ("tprAt1PercentFPR", .double(tprAt1Percent)),
                 ("tprAt1PercentFPRInterval", .array([.double(tprAt1PercentInterval.lowerBound), .double(tprAt1PercentInterval.upperBound)])),
                 ("tprAt0.1PercentFPR", .double(tprAtTenthPercent)),
                 ("tprAt0.1PercentFPRInterval", .array([.double(tprAtTenthPercentInterval.lowerBound), .double(tprAtTenthPercentInterval.upperBound)])),
                 ("members", .int(members)), ("nonMembers", .int(nonMembers))])
    }
}
