import Foundation

/// What a server accepts beyond a valid signature (protocol/SPEC.md §11.3). Logged, signed by the log
/// key, whenever it changes, so an auditor checks every accepted contribution against the policy in
/// force when it was accepted, with this same `check`.
public struct ContributionPolicy: Sendable, Equatable {
    /// Largest total epsilon a signature may declare.
    public var maxEpsilon: Double = 10
    public var maxDelta: Double = 1e-5
    public var minClusterSize = 32
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
        if let sets = expertLayerSets {
            try check(!sets.isEmpty && sets.count <= 64, "1 to 64 expert layer sets")
            for s in sets {
                try check(!s.isEmpty && s.count <= 4096 && s == s.sorted() && Set(s).count == s.count && s.allSatisfy { (0..<4096).contains($0) },
                          "an expert layer set must be distinct ascending layer indices below 4096")
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
        try checkPrivacy(p)
        try checkBudget(spent: epsilonSpent, asked: p.routing.privacy.epsilon ?? 0)
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
                 ("expertLayerSets", expertLayerSets.map { .array($0.map { .array($0.map { .int($0) }) }) } ?? .null)])
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
        guard pr.minClusterSize >= minClusterSize else {
            throw .privacy("minimum cluster size \(pr.minClusterSize) is below the required \(minClusterSize)")
        }
        if requireDPRouterRows && p.routing.routerRowSource != .dpMean {
            throw .privacy("router rows are published as trained; this server requires the DP mean (--router-rows dp-mean)")
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

    public var description: String {
        switch self {
        case let .privacy(why): return "privacy: " + why
        case let .stale(why): return "age: " + why
        case let .layers(why): return "expert layers: " + why
        case let .budget(spent, asked, budget): return "epsilon budget: \(spent) spent before and \(asked) asked exceed \(budget)"
        }
    }
}
