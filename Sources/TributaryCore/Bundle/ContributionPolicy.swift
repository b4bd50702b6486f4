import Foundation

/// What a server accepts beyond a valid signature (protocol/SPEC.md §11.3). Logged, signed by the log
/// key, whenever it changes, so an auditor checks every accepted contribution against the policy in
/// force when it was accepted, with this same `check`.
public struct ContributionPolicy: Sendable, Equatable {
    /// Largest total epsilon a signature may declare.
    public var maxEpsilon: Double = 10
    public var maxDelta: Double = 1e-5
    public var minClusterSize = 16
    /// Accept `--no-dp` signatures (experiments only).
    public var allowNoDP = false
    /// Refuse router rows published as trained (not covered by DP).
    public var requireDPRouterRows = false
    /// Per layer, ‖expert‖_F / ‖anchor FFN‖_F at most this.
    public var maxNormRatio = 2.0
    /// The 2-expert model's probe bits per byte may exceed the anchor's by at most this fraction.
    public var probeTolerance = 0.05
    /// A statement's `createdAt` may be at most this old, and at most `SignedRequest`'s skew ahead.
    public var maxStatementAgeSeconds: Int64 = 30 * 86_400
    /// Optional: the ε an organisation may spend over all its accepted contributions (basic
    /// composition: their ε add up). Nil: no budget.
    public var organisationEpsilonBudget: Double?
    /// The sets of anchor layers an expert may cover, each ascending. Nil: only every layer.
    public var expertLayerSets: [[Int]]?
    /// Per expert layer, ‖router row‖ / ‖the anchor's router row‖ at most this. Only expert weights
    /// were bounded: a bundle with rows ×1000 won every token of every release. Honest owners' rows
    /// start as unit directions, as does the anchor's, and stay near 1 after training (0.95–0.98 on
    /// SmolLM2 and the test anchor: `tributary-dev routing-bounds`), so 4 refuses no honest owner. Nil in
    /// policies logged before it existed: not checked.
    public var maxRouterRowRatio: Double? = 4
    /// ‖centroid‖ at most this. Honest centroids are unit directions (normalised after their DP noise:
    /// 1.000 measured); 2 leaves room for signatures that keep their noise. Centroids ×1000 won every
    /// `/v1/route`. Nil: not checked.
    public var maxCentroidNorm: Double? = 2
    /// Per expert layer, the mean gate weight the new expert may take on the public probe text in its
    /// 2-expert model (honest experts measured 0.47–0.57: they train against the anchor on public text
    /// too). An expert whose rows win every public token is refused even when its weights do no harm
    /// to the text. Nil: not checked.
    public var maxProbeGateShare: Double? = 0.9
    /// A routing signature must route: at least one centroid, and for each its noise ratio — the
    /// expected norm of the DP noise on its sum (z·√d) over its published (noisy) count — at most this.
    /// Above 1 the noise outweighs even a signal of documents all pointing the same way, and no query
    /// would reach the expert by its signature. Nil in policies logged before it (and with
    /// `--allow-unroutable-signatures`): not checked.
    public var maxSignatureNoiseRatio: Double? = 1
    /// The highest rank a LoRA expert may have (its update's norm is bounded like any expert's, by
    /// `maxNormRatio` on the materialised weights). Nil in policies logged before LoRA experts
    /// existed: only the protocol's bound (`LoRAParameters.maxRank`).
    public var maxLoRARank: Int? = 256
    /// Refuse experts not trained with DP-SGD (`training.privacy`): then every published bit of a
    /// contribution is covered by its composed (ε, δ). Absent from older policies: false.
    public var requireDPTraining = false
    /// Router tuning of every release (§11.12): only the contributed router rows train, on text
    /// sampled from the experts and on public text, by this recipe. Nil: releases keep the owners' rows.
    public var routerTuning: RouterTuningRecipe?

    public static let clockSkewSeconds: Int64 = 300

    public init() {}

    /// Refuses values that would make a check meaningless or a computation non-finite.
    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("policy.invalid", why) } }
        try check(maxEpsilon.isFinite && maxEpsilon > 0, "the largest epsilon must be a positive number")
        try check(maxDelta.isFinite && maxDelta > 0 && maxDelta < 1, "the largest delta must be in (0, 1)")
        try check(minClusterSize >= 1, "the minimum cluster size must be at least 1")
        try check(maxNormRatio.isFinite && maxNormRatio > 0, "the norm ratio must be a positive number")
        try check(probeTolerance.isFinite && probeTolerance >= 0 && probeTolerance <= 100, "the probe tolerance must be in 0...100")
        try check(maxStatementAgeSeconds > 0 && maxStatementAgeSeconds <= 10 * 365 * 86_400, "the statement age must be 1 s to 10 years")
        if let b = organisationEpsilonBudget { try check(b.isFinite && b > 0, "the epsilon budget must be a positive number") }
        if let r = maxRouterRowRatio { try check(r.isFinite && r > 0, "the router row ratio must be a positive number") }
        if let c = maxCentroidNorm { try check(c.isFinite && c > 0, "the centroid norm bound must be a positive number") }
        if let g = maxProbeGateShare { try check(g.isFinite && g > 0 && g <= 1, "the probe gate share must be in (0, 1]") }
        if let r = maxSignatureNoiseRatio { try check(r.isFinite && r > 0, "the signature noise ratio must be a positive number") }
        if let r = maxLoRARank { try check((1...LoRAParameters.maxRank).contains(r), "the LoRA rank limit must be in 1...\(LoRAParameters.maxRank)") }
        if let t = routerTuning {
            do { try t.validate() } catch let e as TributaryError { throw TributaryError("policy.invalid", e.message) }
        }
        if let sets = expertLayerSets {
            try check(!sets.isEmpty && sets.count <= 64, "1 to 64 expert layer sets")
            for s in sets {
                try check(ModelBounds.isLayerSet(s), "an expert layer set must be distinct ascending layer indices below \(ModelBounds.maxLayers)")
            }
        }
    }

    /// Everything this policy asks of a contribution's statement, in the order the server checks it:
    /// age against `now` (Unix seconds), expert layers against an anchor of `anchorLayers` layers,
    /// privacy, and the organisation's ε budget given what it has `epsilonSpent` before. The server's
    /// admission and the auditor's replay both make this one call (protocol/SPEC.md §11.3).
    public func check(_ p: ContributionPredicate, anchorLayers: Int, now: Int64, epsilonSpent: Double) throws(PolicyViolation) {
        try checkAge(p, now: now)
        try checkLayers(p.expert.layers, anchorLayers: anchorLayers)
        if let lora = p.expert.lora, let limit = maxLoRARank, lora.rank > limit {
            throw .lora("rank \(lora.rank) is above the policy's limit of \(limit)")
        }
        try checkPrivacy(p)
        try checkBudget(spent: epsilonSpent, asked: p.spentEpsilon ?? 0)
    }

    /// The organisation's ε budget (basic composition): `spent` before, `asked` by this contribution.
    /// Also checked again inside the server's commit transaction, where `spent` may have grown.
    public func checkBudget(spent: Double, asked: Double) throws(PolicyViolation) {
        guard let budget = organisationEpsilonBudget else { return }
        guard spent + asked <= budget * (1 + 1e-12) else { throw .budget(spent: spent, asked: asked, budget: budget) }
    }

    /// Whether an expert over `layers` is accepted for an anchor of `anchorLayers` layers.
    func checkLayers(_ layers: [Int], anchorLayers: Int) throws(PolicyViolation) {
        let accepted = expertLayerSets ?? [Array(0..<anchorLayers)]
        guard accepted.contains(layers) else {
            throw .layers("an expert for layers \(Self.describe(layers)); this server accepts \(accepted.map(Self.describe).joined(separator: " or "))")
        }
    }

    /// The routing half of a contribution against the bounds: each expert layer's router row against
    /// the anchor's row of that layer (`rows` and `anchorRows` are [L, C]), every centroid ([k, d]) and
    /// its published count ([k]) against the centroid-sum noise multiplier `sumNoise` (nil without DP).
    /// The server checks it before the probe, the auditor when it checks a release that holds the expert.
    /// `sumNoise` and `countNoise`: the statement's noise multipliers of the centroid sums and counts.
    public func checkRouting(rows: [Float], anchorRows: [Float], expertLayers: [Int], hidden C: Int, centroids: [Float], counts: [Float],
                             centroidDimension d: Int, sumNoise: Double?, countNoise: Double? = nil) throws(PolicyViolation) {
        func norm(_ v: ArraySlice<Float>) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        if let k = maxRouterRowRatio {
            for l in expertLayers {
                guard (l + 1) * C <= rows.count, (l + 1) * C <= anchorRows.count else { throw .routing("router rows do not cover layer \(l)") }
                let r = norm(rows[l * C..<(l + 1) * C]), a = norm(anchorRows[l * C..<(l + 1) * C])
                guard r.isFinite, r <= k * a else {
                    throw .routing(String(format: "the router row of layer %d has norm %.4g, more than %.4g times the anchor's (%.4g)", l, r, k, a))
                }
            }
        }
        if let m = maxCentroidNorm, d > 0 {
            for j in 0..<(centroids.count / d) {
                let n = norm(centroids[j * d..<(j + 1) * d])
                guard n.isFinite, n <= m else { throw .routing(String(format: "centroid %d has norm %.4g, more than the %.4g allowed", j, n, m)) }
            }
        }
        if let r = maxSignatureNoiseRatio {
            guard !counts.isEmpty else {
                throw .unroutable("the routing signature has no centroid (its owner's DP clustering kept none), so no query can reach the expert by it")
            }
            if let z = sumNoise {
                for (j, n) in counts.enumerated() {
                    // The published count carries noise of standard deviation σ = `countNoise` (4 times
                    // the sums' in DPSchedule; a larger declared one is not believed): judged at ñ + σ,
                    // the demo's 63 documents at ε = 1 are refused 0.16% of the time instead of 2.6%
                    // against ñ alone, and a count below (√d − 4)·z is still refused. A margin of 2σ
                    // would exceed √d·z at d = 32 and refuse nothing.
                    let sigma = min(countNoise ?? 0, DPSchedule.countNoiseWeight * z)
                    let upper = Double(n) + sigma
                    let ratio = z * Double(d).squareRoot() / max(upper, 1e-12)
                    guard n > 0, ratio <= r else {
                        throw .unroutable(String(format: "centroid %d: DP noise of expected norm %.3g on a sum of about %.0f documents (at most %.0f; ratio %.3g, at most %.3g): the noise outweighs any signal; more documents or a larger ε would do", j, z * Double(d).squareRoot(), Double(n), upper, ratio, r))
                    }
                }
            }
        }
    }

    /// `22-29` for a run, `0,3,5` otherwise.
    public static func describe(_ layers: [Int]) -> String {
        if let f = layers.first, let l = layers.last, layers.count > 2, layers == Array(f...l) { return "\(f)-\(l)" }
        return layers.map(String.init).joined(separator: ",")
    }

    public var json: JSONValue {
        .object([("maxEpsilon", .double(maxEpsilon)), ("maxDelta", .double(maxDelta)), ("minClusterSize", .int(minClusterSize)),
                 ("allowNoDP", .bool(allowNoDP)), ("requireDPRouterRows", .bool(requireDPRouterRows)),
                 ("maxNormRatio", .double(maxNormRatio)), ("probeTolerance", .double(probeTolerance)),
                 ("maxStatementAgeSeconds", .int(Int(maxStatementAgeSeconds))),
                 ("organisationEpsilonBudget", organisationEpsilonBudget.map { .double($0) } ?? .null),
                 ("expertLayerSets", expertLayerSets.map { .array($0.map { .array($0.map { .int($0) }) }) } ?? .null)]
                + [("maxRouterRowRatio", maxRouterRowRatio), ("maxCentroidNorm", maxCentroidNorm), ("maxProbeGateShare", maxProbeGateShare),
                   ("maxSignatureNoiseRatio", maxSignatureNoiseRatio)]
                    .compactMap { name, v in v.map { (name, JSONValue.double($0)) } }
                + (maxLoRARank.map { [("maxLoRARank", JSONValue.int($0))] } ?? [])
                + (requireDPTraining ? [("requireDPTraining", JSONValue.bool(true))] : [])
                + (routerTuning.map { [("routerTuning", $0.json)] } ?? []))
    }

    public init(json: JSONValue) throws {
        do {
            var r = try JSONObjectReader(json, path: "policy")
            maxEpsilon = try r.double("maxEpsilon")
            maxDelta = try r.double("maxDelta")
            minClusterSize = try r.int("minClusterSize", in: 1...Int(Int32.max))
            allowNoDP = try r.bool("allowNoDP")
            requireDPRouterRows = try r.bool("requireDPRouterRows")
            maxNormRatio = try r.double("maxNormRatio")
            probeTolerance = try r.double("probeTolerance")
            maxStatementAgeSeconds = Int64(try r.int("maxStatementAgeSeconds", in: 1...(10 * 365 * 86_400)))
            organisationEpsilonBudget = try r.optionalDouble("organisationEpsilonBudget")
            if let sets = r.optionalValue("expertLayerSets"), sets != .null {
                guard let a = sets.arrayValue else { throw JSONSchemaError(path: "policy.expertLayerSets", problem: "expected an array") }
                expertLayerSets = try a.enumerated().map { try $0.element.intArray(path: "policy.expertLayerSets[\($0.offset)]") }
            }
            // Absent from policies logged before these bounds existed: then not checked.
            maxRouterRowRatio = try r.optionalDouble("maxRouterRowRatio")
            maxCentroidNorm = try r.optionalDouble("maxCentroidNorm")
            maxProbeGateShare = try r.optionalDouble("maxProbeGateShare")
            maxSignatureNoiseRatio = try r.optionalDouble("maxSignatureNoiseRatio")
            maxLoRARank = try r.optionalInt("maxLoRARank")
            requireDPTraining = try r.optionalBool("requireDPTraining") ?? false
            if let v = r.optionalValue("routerTuning"), v != .null { routerTuning = try RouterTuningRecipe(json: v, path: "policy.routerTuning") }
            try r.finish()
        } catch let e as JSONSchemaError {
            throw TributaryError("policy.invalid", e.description)
        }
        try validate()
    }

    /// The privacy checks a statement must pass, from the statement alone: DP on unless allowed off,
    /// (ε, δ) within bounds, ε no smaller than what its own noise gives, cluster size, router rows.
    func checkPrivacy(_ p: ContributionPredicate) throws(PolicyViolation) {
        let pr = p.routing.privacy
        if !pr.enabled {
            guard allowNoDP else { throw .privacy("the routing signature was made without differential privacy (--no-dp)") }
        } else {
            guard let e = pr.epsilon, e <= maxEpsilon else {
                throw .privacy("epsilon \(pr.epsilon ?? .infinity) is above the maximum \(maxEpsilon)")
            }
            guard let d = pr.delta, d <= maxDelta else { throw .privacy("delta \(pr.delta ?? 1) is above the maximum \(maxDelta)") }
            let actual: Double
            do { actual = try p.routing.recomputedEpsilon() } catch { throw .privacy("the privacy parameters do not add up: \(error)") }
            // The statement may claim more ε than its noise gives (conservative), never less.
            guard actual <= e * (1 + 1e-9) + 1e-12 else {
                throw .privacy(String(format: "the statement claims epsilon %.6g, but its noise multipliers give %.6g at delta %.1e", e, actual, d))
            }
        }
        try checkTrainingPrivacy(p)
        guard pr.minClusterSize >= minClusterSize else {
            throw .privacy("minimum cluster size \(pr.minClusterSize) is below the required \(minClusterSize)")
        }
        if requireDPRouterRows && p.routing.routerRowSource != .dpMean {
            throw .privacy("router rows are published as trained; this server requires the DP mean (--router-rows dp-mean)")
        }
    }

    /// DP-SGD's declaration: required when the policy says so; its composed (ε, δ) within the same
    /// bounds as the signature's, and no smaller than the declared noise gives.
    func checkTrainingPrivacy(_ p: ContributionPredicate) throws(PolicyViolation) {
        guard let t = p.training.privacy else {
            if requireDPTraining { throw .privacy("the expert was trained without DP-SGD; this server requires it (--dp-sgd)") }
            return
        }
        guard t.epsilon <= maxEpsilon else { throw .privacy("the contribution's epsilon \(t.epsilon) is above the maximum \(maxEpsilon)") }
        guard t.delta <= maxDelta else { throw .privacy("the contribution's delta \(t.delta) is above the maximum \(maxDelta)") }
        let actual: Double
        do { actual = try p.recomputedContributionEpsilon() } catch { throw .privacy("the DP-SGD parameters do not add up: \(error)") }
        guard actual <= t.epsilon * (1 + 1e-9) + 1e-12 else {
            throw .privacy(String(format: "the statement claims a contribution epsilon of %.6g, but its signature and DP-SGD noise give %.6g at delta %.1e", t.epsilon, actual, t.delta))
        }
    }

    /// The statement's creation time against `now` (Unix seconds): not in the future beyond the clock
    /// skew, not older than `maxStatementAgeSeconds`.
    func checkAge(_ p: ContributionPredicate, now: Int64) throws(PolicyViolation) {
        guard let t = Timestamp.parseRFC3339(p.createdAt) else { throw .stale("createdAt is not a timestamp") }
        guard t <= now + Self.clockSkewSeconds else { throw .stale("the statement was created at \(p.createdAt), in the future") }
        guard now - t <= maxStatementAgeSeconds else {
            throw .stale("the statement was created at \(p.createdAt), more than \(maxStatementAgeSeconds) s ago")
        }
    }
}

public enum PolicyViolation: Error, Equatable, Sendable, CustomStringConvertible {
    case privacy(String)
    case stale(String)
    case layers(String)
    case budget(spent: Double, asked: Double, budget: Double)
    case routing(String)
    case unroutable(String)
    case lora(String)

    public var description: String {
        switch self {
        case let .privacy(why): return "privacy: " + why
        case let .stale(why): return "age: " + why
        case let .layers(why): return "expert layers: " + why
        case let .budget(spent, asked, budget): return "epsilon budget: \(spent) spent before and \(asked) asked exceed \(budget)"
        case let .routing(why): return "routing bounds: " + why
        case let .unroutable(why): return "routing signature: " + why
        case let .lora(why): return "LoRA expert: " + why
        }
    }
}
