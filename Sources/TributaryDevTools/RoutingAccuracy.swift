import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// How often sequence-level routing sends a held-out document of each domain to that domain's expert.
public struct RoutingAccuracy: Sendable {
    public let perDomain: [(name: String, correct: Int, total: Int)]
    public var correct: Int { perDomain.reduce(0) { $0 + $1.correct } }
    public var total: Int { perDomain.reduce(0) { $0 + $1.total } }
    public var accuracy: Double { Double(correct) / Double(max(total, 1)) }
    /// Chance level of top-1 routing among `candidates` experts.
    public let candidates: Int

    public var summary: String {
        String(format: "%.1f%% (chance %.1f%%): ", 100 * accuracy, 100 / Double(candidates))
            + perDomain.map { "\($0.name) \($0.correct)/\($0.total)" }.joined(separator: ", ")
    }

    /// Routes each domain's held-out documents against `index` (expert e+1 is domain e; expert 0 the
    /// anchor) and counts top-1 hits.
    public static func measure(anchor: Model, index: RoutingIndex, heldOut: [(name: String, corpus: Corpus)],
                               temperature: Double = 0.1, workers: Int = 2) -> RoutingAccuracy {
        let router = CentroidRouter(index: index, temperature: temperature, topK: 1)
        var rows = [(String, Int, Int)]()
        for (d, (name, corpus)) in heldOut.enumerated() {
            let q = index.space.embed(model: anchor, corpus: corpus, workers: workers)
            let routes = router.route(q, count: corpus.documents.count, workers: workers)
            rows.append((name, routes.filter { $0.first?.expert == d + 1 }.count, corpus.documents.count))
        }
        return RoutingAccuracy(perDomain: rows, candidates: index.experts.filter { !$0.counts.isEmpty }.count)
    }
}
