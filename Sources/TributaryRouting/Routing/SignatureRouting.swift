import TributaryModel

/// Signature routing for the combined MoE: every token may use the anchor's FFN plus the experts
/// whose routing signatures lie nearest to what has been read so far (the causal prefix's point in
/// the anchor's signature space, `SignatureSpace.prefixPoints`). Within that set the release's router
/// rows choose and weigh experts as usual, so a token routed to expert e is computed with exactly
/// the gates e's owner trained ([anchor row, e's row]), and a token nearest the public centroids
/// uses the anchor alone. The index's expert order is the model's: anchor first, then the release's.
///
/// Why: router rows are trained by each owner against the anchor only, so token by token they tell
/// "my expert or the anchor" apart but not one owner's expert from another's; the signatures, built
/// from whole documents, do tell domains apart (c-BTM routes on them for the same reason).
public struct SignatureRouting: Sendable {
    public let router: CentroidRouter
    /// Nearest experts allowed per token besides the anchor (the public centroids count as the anchor's).
    public var experts: Int { router.topK }

    public init(index: RoutingIndex, experts: Int = 1) {
        router = CentroidRouter(index: index, temperature: 1, topK: max(1, experts))
    }

    /// [document][predicted token] sets of allowed experts for `corpus`, from `anchor`'s hidden states.
    public func expertSets(anchor: Model, corpus: Corpus, workers: Int = 2) -> [[ExpertSet]] {
        let d = router.index.dimension
        let prefixes = router.index.space.prefixPoints(model: anchor, corpus: corpus, workers: workers)
        return prefixes.map { rows in sets(rows, count: rows.count / d, workers: workers) }
    }

    /// The anchor and the nearest experts, for `n` context points ([n, d]).
    public func sets(_ embeddings: [Float], count n: Int, workers: Int = 2) -> [ExpertSet] {
        router.route(embeddings, count: n, workers: workers).map { routes in ExpertSet([0] + routes.map(\.expert)) }
    }
}
