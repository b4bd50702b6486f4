import Foundation
import Testing
import TributaryModel
@testable import TributaryRouting

@Suite struct RouterTests {
    func index(experts: Int, perExpert: Int, C: Int, seed: UInt64, empty: Set<Int> = []) -> RoutingIndex {
        let (points, _, _) = syntheticEmbeddings(n: experts * perExpert, C: C, k: experts, spread: 0.4, seed: seed)
        return RoutingIndex(space: SignatureSpace(layer: 0, center: [Float](repeating: 0, count: C), projection: nil), experts: (0..<experts).map { e in
            if empty.contains(e) { return .init(name: "e\(e)", centroids: [], counts: []) }
            // syntheticEmbeddings assigns point i to cluster i % k.
            var c = [Float]()
            for i in stride(from: e, to: experts * perExpert, by: experts) { c += points[i * C..<(i + 1) * C] }
            return .init(name: "e\(e)", centroids: c, counts: [Float](repeating: 40, count: perExpert))
        })
    }

    /// The sgemm path equals a per-query loop of dot products.
    @Test func batchedRoutingEqualsNaiveScoring() {
        let C = 16, idx = index(experts: 7, perExpert: 5, C: C, seed: 1, empty: [3])
        let router = CentroidRouter(index: idx, temperature: 0.1, topK: 3)
        let (queries, _, _) = syntheticEmbeddings(n: 50, C: C, k: 7, spread: 0.6, seed: 2)
        let routes = router.route(queries, count: 50, workers: 2)
        for q in 0..<50 {
            var dist = [Double](repeating: .infinity, count: 7)
            for (e, ex) in idx.experts.enumerated() where !ex.counts.isEmpty {
                for j in 0..<ex.counts.count {
                    var d = 0.0
                    for c in 0..<C { let x = Double(queries[q * C + c] - ex.centroids[j * C + c]); d += x * x }
                    dist[e] = min(dist[e], d)
                }
            }
            let want = CentroidRouter.pick(dist, temperature: 0.1, topK: 3)
            #expect(routes[q].map(\.expert) == want.map(\.expert))
            for (a, b) in zip(routes[q], want) { #expect(abs(a.weight - b.weight) < 1e-4 && abs(a.distance - b.distance) < 1e-4) }
            #expect(abs(routes[q].reduce(0) { $0 + $1.weight } - 1) < 1e-9)
            #expect(routes[q].count == 3)
            #expect(!routes[q].contains { $0.expert == 3 }, "an expert without centroids was chosen")
        }
    }

    @Test func pickIsSoftmaxOverNegativeDistanceThenTopK() {
        let r = CentroidRouter.pick([0.1, 0.3, .infinity, 0.2], temperature: 0.1, topK: 2)
        #expect(r.map(\.expert) == [0, 3])
        let w0 = exp(-1.0), w3 = exp(-2.0)
        #expect(abs(r[0].weight - w0 / (w0 + w3)) < 1e-12)
        #expect(CentroidRouter.pick([.infinity], temperature: 0.1, topK: 1).isEmpty)
    }
}
