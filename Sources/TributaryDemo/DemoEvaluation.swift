import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// The models the demo compares, all held in memory.
public struct EvaluationInputs: Sendable {
    public struct Organisation: Sendable {
        public let name: String
        public let domain: String
        /// The organisation's own 2-expert model: [anchor FFN, its expert].
        public let model: Model
        public init(name: String, domain: String, model: Model) {
            self.name = name
            self.domain = domain
            self.model = model
        }
    }

    public var anchor: Model
    public var organisations: [Organisation]
    /// The published release: [anchor FFN, contributed experts…] in `releaseOrder`.
    public var combined: Model
    /// The release's routing index (anchor first, then the experts in release order).
    public var index: RoutingIndex
    public var releaseOrder: [String]
    /// The release after one organisation opted out.
    public var afterOptOut: (removed: String, model: Model)?
    /// Held-out text per domain, public first.
    public var heldOut: [(domain: String, corpus: Corpus)]

    public init(anchor: Model, organisations: [Organisation], combined: Model, index: RoutingIndex, releaseOrder: [String],
                afterOptOut: (removed: String, model: Model)?, heldOut: [(domain: String, corpus: Corpus)]) {
        self.anchor = anchor
        self.organisations = organisations
        self.combined = combined
        self.index = index
        self.releaseOrder = releaseOrder
        self.afterOptOut = afterOptOut
        self.heldOut = heldOut
    }
}

/// Held-out bits per byte of the anchor, each organisation's 2-expert model, the combined MoE top-2
/// routed by its own router rows (what any Mixtral runtime computes: the headline) and by posterior
/// (Tributary's ceiling; top-1 too when extended), by signatures, the weight-merging baselines (uniform
/// soup, task arithmetic, TIES), a c-BTM style ensemble routed per document by centroids, an oracle
/// that uses each domain's own model, and the combined MoE after an opt-out (both routings).
public enum DemoEvaluation {
    public static let anchorRow = "anchor alone"
    public static let routerRow = "combined MoE, top-2, its own router"
    public static let top1Row = "combined MoE, top-1, posterior-routed"
    public static let posteriorRow = "combined MoE, top-2, posterior-routed"
    public static let signatureRow = "combined, signature-routed, top-2"
    public static let shortlistRow = "combined MoE, top-2, posterior over the signature shortlist"
    public static let soupRow = "uniform soup of the experts"
    public static let taskArithmeticRow = "task arithmetic (λ = 1)"
    public static let tiesRow = "TIES merging (density \(WeightMerging.tiesDensity), λ = \(Int(WeightMerging.tiesLambda)))"
    public static let cbtmRow = "c-BTM ensemble (centroid routing)"
    public static let oracleRow = "oracle (domain's own model)"
    public static func ownRow(_ org: String, _ domain: String) -> String { "\(org) 2-expert (\(domain))" }
    public static func optOutRow(_ org: String) -> String { "combined after \(org) opts out, its own router" }
    public static func posteriorOptOutRow(_ org: String) -> String { "combined after \(org) opts out, posterior-routed" }

    /// `extended`: also top-1 (one posterior pass per expert set more).
    public static func run(_ inputs: EvaluationInputs, extended: Bool = true, workers: Int = 2, log: (String) -> Void = { _ in }) throws -> EvaluationTable {
        let domains = inputs.heldOut.map(\.domain)
        var table = EvaluationTable(domains: domains)
        // Every model here shares the anchor's layers below the lowest expert layer: the anchor's pass
        // records the stream entering it, per domain, and the later passes start there.
        let shared = inputs.combined.config.moeLayers.first ?? 0
        let prefixes = inputs.heldOut.map { _ in PrefixStates(layer: shared) }
        func scores(_ label: String, _ model: Model) -> [TokenScores] {
            let t0 = Date()
            let s = zip(inputs.heldOut, prefixes).map { Evaluator.tokenScores(model: model, corpus: $0.corpus, prefix: $1, workers: workers) }
            log(String(format: "  %@: %.1f s", label, Date().timeIntervalSince(t0)))
            return s
        }
        func add(_ label: String, _ note: String, _ s: [TokenScores]) {
            table.rows.append(.init(label: label, note: note, bitsPerByte: s.map { $0.bitsPerByte() }))
        }

        let anchor = scores(anchorRow, inputs.anchor)
        add(anchorRow, "the public dense model everyone trains against", anchor)
        var own = [String: [TokenScores]]()
        for o in inputs.organisations {
            own[o.name] = scores(ownRow(o.name, o.domain), o.model)
            add(ownRow(o.name, o.domain), "the anchor's FFN (frozen) plus \(o.name)'s expert, as \(o.name) trained it", own[o.name]!)
        }
        let k = inputs.combined.config.expertsPerToken
        let top2 = k == 2 ? inputs.combined : try ExpertAssembly.withTopK(inputs.combined, 2)
        // Posterior routing (the release's method): each token goes to the expert set whose restricted
        // model has explained the text read so far best; the router rows gate within the set.
        func posterior(_ label: String, _ model: Model) -> [TokenScores] {
            let t0 = Date()
            let routing = PosteriorRouting(experts: model.config.numExperts)
            let results = inputs.heldOut.indices.map {
                routing.tokenScores(model: model, corpus: inputs.heldOut[$0].corpus, prefix: prefixes[$0], anchorAlone: anchor[$0], workers: workers)
            }
            log(String(format: "  %@: %.1f s; share of tokens per expert set (anchor alone, then anchor + each expert): ", label, Date().timeIntervalSince(t0))
                + zip(inputs.heldOut, results).map { "\($0.domain) " + $1.shares.map { String(format: "%.2f", $0) }.joined(separator: "/") }.joined(separator: ", "))
            return results.map(\.scores)
        }
        if extended {
            let top1 = k == 1 ? inputs.combined : try ExpertAssembly.withTopK(inputs.combined, 1)
            add(top1Row, "routed by posterior: the expert set (anchor alone, or anchor + one expert) whose model best explains the text so far; router rows pick 1", posterior(top1Row, top1))
        }
        add(routerRow, "the release's router rows alone over all experts, 2 per token: what Hugging Face transformers, llama.cpp or vLLM compute", scores(routerRow, top2))
        let optedOut = try inputs.afterOptOut.map { removed, model in
            (removed: removed, top2: model.config.expertsPerToken == 2 ? model : try ExpertAssembly.withTopK(model, 2))
        }
        if let (removed, after) = optedOut {
            add(optOutRow(removed), "the release published after \(removed)'s revocation, top-2, its own router", scores(optOutRow(removed), after))
        }
        add(posteriorRow, "routed by posterior as above (Tributary only); the set's router rows weigh its 2 experts", posterior(posteriorRow, top2))
        // Signature routing: the anchor plus the expert whose centroids lie nearest the text so far.
        let t0 = Date()
        let routing = SignatureRouting(index: inputs.index)
        let signatureSets = inputs.heldOut.map { routing.expertSets(anchor: inputs.anchor, corpus: $0.corpus, workers: workers) }
        add(signatureRow, "anchor + the expert whose DP centroids lie nearest the text read so far, weighed by router rows",
            zip(zip(inputs.heldOut, prefixes), signatureSets).map { hp, sets in
                Evaluator.tokenScores(model: top2, corpus: hp.0.corpus, expertSets: sets, prefix: hp.1, workers: workers)
            })
        log(String(format: "  %@: %.1f s", signatureRow, Date().timeIntervalSince(t0)))
        // Posterior routing over the signatures' shortlist: the anchor alone or with one expert the
        // signatures named for some earlier token, so one pass per shortlisted expert, not per expert.
        let t1 = Date()
        let shortlisted = inputs.heldOut.indices.map {
            PosteriorRouting(experts: top2.config.numExperts).tokenScores(model: top2, corpus: inputs.heldOut[$0].corpus, shortlist: signatureSets[$0],
                                                                          anchorAlone: anchor[$0], workers: workers)
        }
        add(shortlistRow, "routed by posterior over the signatures' shortlist (the anchor alone, or with an expert the signatures named so far)",
            shortlisted.map(\.scores))
        log(String(format: "  %@: %.1f s", shortlistRow, Date().timeIntervalSince(t1)))
        let E = inputs.combined.config.numExperts
        add(soupRow, "one dense FFN averaging all \(E) experts' weights, the anchor's included", scores(soupRow, WeightMerging.uniformSoup(inputs.combined)))
        add(taskArithmeticRow, "one dense FFN: the anchor's plus every contributed expert's change (task vector) in full",
            scores(taskArithmeticRow, WeightMerging.taskArithmetic(inputs.combined)))
        add(tiesRow, "one dense FFN: each task vector trimmed to its largest \(Int(WeightMerging.tiesDensity * 100))% per tensor, signs elected, agreeing values averaged",
            scores(tiesRow, WeightMerging.ties(inputs.combined)))

        // c-BTM: each document routed by its point in the anchor's signature space to the nearest centroids (top-2, the
        // release's index), scored by the routed models' mixture; the anchor stands for "anchor".
        let models = [anchor] + inputs.releaseOrder.map { own[$0]! }
        let router = CentroidRouter(index: inputs.index, temperature: 0.1, topK: 2)
        var cbtm = [Double]()
        for (d, held) in inputs.heldOut.enumerated() {
            let points = inputs.index.space.embed(model: inputs.anchor, corpus: held.corpus, workers: workers)
            let routes = router.route(points, count: held.corpus.documents.count, workers: workers)
            cbtm.append(TokenScores.mixtureBitsPerByte(models.map { $0[d] }, weights: routes.map { $0.map { ($0.expert, $0.weight) } }))
        }
        table.rows.append(.init(label: cbtmRow, note: "per document: nearest centroids (top-2, temperature 0.1) pick which 2-expert models to mix", bitsPerByte: cbtm))
        let oracle = domains.enumerated().map { d, domain -> Double in
            guard let o = inputs.organisations.first(where: { $0.domain == domain }) else { return anchor[d].bitsPerByte() }
            return own[o.name]![d].bitsPerByte()
        }
        table.rows.append(.init(label: oracleRow, note: "each domain scored by its own organisation's model (the anchor for public)", bitsPerByte: oracle))
        if let (removed, after) = optedOut {
            add(posteriorOptOutRow(removed), "the release published after \(removed)'s revocation, top-2, routed by posterior", posterior(posteriorOptOutRow(removed), after))
        }
        return table
    }
}

/// The held-out split `tributary train` and `anchor train` leave aside (by content hash, default
/// options), each document cut to its first `documentBytes` (at a line end), capped to `maxBytes`
/// per domain for evaluation time. Cutting documents spreads a small budget over more of them.
public enum DemoHeldOut {
    /// `tributary train`'s default `--held-out`.
    public static let fraction = 0.1

    public static func load(_ directory: String, fraction: Double = DemoHeldOut.fraction, maxBytes: Int = .max, documentBytes: Int = .max) throws -> Corpus {
        let split = try Corpus.load(paths: [directory]).split(heldOutFraction: fraction).heldOut
        let cut = Corpus(documents: split.documents.map { d in
            d.bytes.count > documentBytes ? Corpus.Document(source: d.source, bytes: Array(d.bytes[..<lineEnd(d.bytes, within: documentBytes)])) : d
        })
        let held = cut.prefix(bytes: maxBytes)
        guard !held.documents.isEmpty else { throw TributaryError("demo.no_held_out", "no held-out documents in \(directory)") }
        return held
    }
}

/// The end of the last whole line within the first `limit` bytes (after its newline), or `limit`
/// when they hold no newline: where the demo cuts a text so it does not stop mid-line.
func lineEnd(_ bytes: [UInt8], within limit: Int) -> Int {
    let head = bytes.prefix(limit)
    return head.lastIndex(of: 0x0a).map { $0 + 1 } ?? head.endIndex
}
