import Foundation
import TributaryCore
import TributaryAPI
import TributaryModel
import TributaryRouting

extension AggregationServer {
    func currentRelease() async throws -> LoadedRelease {
        guard let r = await releases.current else { throw ServerError.unavailable("no release has been published yet") }
        return r
    }

    /// The release's cached router unless the request asks for other settings.
    static func router(_ r: LoadedRelease, temperature: Double, topK: Int) -> CentroidRouter {
        r.router.temperature == temperature && r.router.topK == topK ? r.router : CentroidRouter(index: r.index, temperature: temperature, topK: topK)
    }

    func describe(_ r: LoadedRelease, _ route: CentroidRouter.Route) -> RoutedExpert {
        let e = route.expert
        if e == 0 { return RoutedExpert(expert: 0, organisation: "anchor", contribution: nil, weight: route.weight) }
        let m = r.manifest.experts[e - 1]
        return RoutedExpert(expert: e, organisation: m.organisation, contribution: m.contribution, weight: route.weight)
    }

    /// Experts of the current release whose contribution was withdrawn or taken down since it was
    /// built: routing leaves them out at once, before the next release drops them.
    func excludedExperts(_ r: LoadedRelease) async -> Set<Int> {
        let withdrawn = await releases.withdrawn
        return Set(r.manifest.experts.enumerated().filter { withdrawn.contains($0.element.contribution) }.map { $0.offset + 1 })
    }

    /// The top `k` routes that are not excluded, their weights renormalised.
    static func keep(_ routes: [CentroidRouter.Route], excluding excluded: Set<Int>, topK k: Int) -> [CentroidRouter.Route] {
        let kept = Array(routes.filter { !excluded.contains($0.expert) }.prefix(k))
        let total = kept.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return kept }
        return kept.map { CentroidRouter.Route(expert: $0.expert, weight: $0.weight / total, distance: $0.distance) }
    }

    /// Sequence-level routing of texts against the current release's routing index. Each text is read
    /// only as far as its embedding does (`Tokenizer.leadingDocumentTokens`); a request holding more
    /// than `maxRouteTokens` in all is refused; queries arriving together share one anchor pass
    /// (`RouteBatcher`); and `abandoned` (the client hung up) drops the work before its pass starts.
    public func route(texts: [String], topK: Int, temperature: Double, abandoned: (@Sendable () -> Bool)? = nil) async throws -> [[RoutedExpert]] {
        let r = try await currentRelease()
        let excluded = await excludedExperts(r)
        let limit = config.maxRouteTokens
        let t = r.anchor.tokenizer, n = t.embeddingTokens
        let tokens = texts.reduce(0) { $0 + t.leadingDocumentTokens(Array($1.utf8), count: n).count - 1 }
        guard tokens <= limit else {
            throw ServerError.badRequest("the texts hold \(tokens) tokens to embed, more than the \(limit) one routing request may (send fewer texts)")
        }
        let q = try await routeBatcher.embed(texts, tokens: tokens, release: r, abandoned: abandoned)
        let routes = Self.router(r, temperature: temperature, topK: topK + excluded.count).route(q, count: texts.count, workers: 1)
        return routes.map { Self.keep($0, excluding: excluded, topK: topK).map { describe(r, $0) } }
    }

    /// Routing of already-embedded queries (points of the anchor's signature space, any length).
    public func route(embeddings: [[Float]], topK: Int, temperature: Double) async throws -> [[RoutedExpert]] {
        let r = try await currentRelease()
        let C = r.index.dimension
        for e in embeddings where e.count != C { throw ServerError.badRequest("embeddings must have \(C) values") }
        guard embeddings.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { throw ServerError.badRequest("embeddings must be finite") }
        let flat = embeddings.flatMap { VectorMath.normalized($0) }
        guard flat.allSatisfy(\.isFinite) else { throw ServerError.badRequest("embeddings must have a finite, non-zero length") }
        let excluded = await excludedExperts(r)
        let routes = try await pool.run(.interactive) { Self.router(r, temperature: temperature, topK: topK + excluded.count).route(flat, count: embeddings.count, workers: 1) }
        return routes.map { Self.keep($0, excluding: excluded, topK: topK).map { describe(r, $0) } }
    }

    /// The experts of the current release a token may use: all but those withdrawn or taken down
    /// since it was built (a token then chooses its top-k among the rest: exactly the release that
    /// drops them, as soon as the opt-out is acknowledged).
    func servedExperts(_ r: LoadedRelease) async -> ExpertSet {
        let excluded = await excludedExperts(r)
        return excluded.isEmpty ? .all : ExpertSet((0..<r.model.config.numExperts).filter { !excluded.contains($0) })
    }

    /// Bits per byte of a text under the current combined model.
    public func score(text: String, abandoned: (@Sendable () -> Bool)? = nil) async throws -> (release: Int, evaluation: Evaluation) {
        let r = try await currentRelease()
        let allowed = await servedExperts(r)
        let e = try await pool.run(abandoned: abandoned) {
            Evaluator.evaluate(model: r.model, corpus: Corpus(documents: [.init(source: "text", bytes: Array(text.utf8))]), batch: 4, workers: 1,
                               allowed: allowed)
        }
        return (r.manifest.release, e)
    }

    public func generate(prompt: String, maxTokens: Int, temperature: Float, topK: Int, seed: UInt64,
                         abandoned: (@Sendable () -> Bool)? = nil) async throws -> (release: Int, text: String) {
        let r = try await currentRelease()
        let allowed = await servedExperts(r)
        // As `Generator.continuation` frames it: the text as a document's beginning, until the document ends.
        let t = r.model.tokenizer
        let out = try await generation.generate(text: Array(prompt.utf8),
                                                settings: .init(maxTokens: maxTokens, temperature: temperature, topK: topK, seed: seed, stop: [t.documentEnd]),
                                                model: r.model, key: .init(release: r.manifest.release, allowed: allowed), abandoned: abandoned)
        return (r.manifest.release, String(decoding: t.decode(out), as: UTF8.self))
    }
}
