import TributaryCore

/// Why the server refused a contribution after its signature checked out (protocol/SPEC.md §8).
public enum ContributionError: CodedError, Equatable {
    case unknownKey(String)
    case keyRevoked(String)
    case wrongOrigin(expected: String, got: String)
    case stale(String)
    case budget(spent: Double, asked: Double, budget: Double)
    case wrongAnchor(expected: String, got: String)
    case shapeMismatch(String)
    case nonFinite(String)
    case normBound(layer: Int, ratio: Double, limit: Double)
    case privacyPolicy(String)
    case layersRefused(String)
    case harmful(anchor: Double, withExpert: Double, limit: Double)
    case routingBound(String)
    case greedyRouting(layer: Int, share: Double, limit: Double)
    case unroutableSignature(String)
    case loraRefused(String)
    case duplicate(String)

    public var code: String {
        switch self {
        case .unknownKey: return "contribution.unknown_key"
        case .keyRevoked: return "contribution.key_revoked"
        case .wrongOrigin: return "contribution.wrong_origin"
        case .stale: return "contribution.stale"
        case .budget: return "contribution.privacy_budget"
        case .wrongAnchor: return "contribution.wrong_anchor"
        case .shapeMismatch: return "contribution.shape_mismatch"
        case .nonFinite: return "contribution.non_finite"
        case .normBound: return "contribution.norm_bound"
        case .privacyPolicy: return "contribution.privacy_policy"
        case .layersRefused: return "contribution.layers_refused"
        case .harmful: return "contribution.harmful"
        case .routingBound: return "contribution.routing_bound"
        case .greedyRouting: return "contribution.greedy_routing"
        case .unroutableSignature: return "contribution.unroutable_signature"
        case .loraRefused: return "contribution.lora_refused"
        case .duplicate: return "contribution.duplicate"
        }
    }

    public var message: String {
        switch self {
        case let .unknownKey(k): return "the envelope is signed by key \(k), which is not enrolled here"
        case let .keyRevoked(k): return "key \(k) has been revoked or replaced"
        case let .wrongOrigin(e, g): return "the statement is for the deployment \(g.debugDescription), this is \(e.debugDescription)"
        case let .stale(why): return why
        case let .budget(spent, asked, budget):
            return String(format: "the organisation has spent epsilon %.4g; %.4g more would pass its budget of %.4g", spent, asked, budget)
        case let .wrongAnchor(e, g): return "the expert was trained against anchor \(g.prefix(16))…, this server serves \(e.prefix(16))…"
        case let .shapeMismatch(why): return "the expert does not fit the anchor: \(why)"
        case let .nonFinite(what): return "\(what) holds a NaN or infinite value"
        case let .normBound(l, r, lim): return String(format: "layer %d's expert weights have %.2fx the norm of the anchor's FFN (limit %.2fx)", l, r, lim)
        case let .privacyPolicy(why): return "refused by the server's privacy policy: \(why)"
        case let .layersRefused(why): return "refused by the server's policy: \(why)"
        case let .harmful(a, e, lim):
            return String(format: "the expert raises the public probe's bits per byte from %.4f to %.4f (limit %.4f)", a, e, lim)
        case let .routingBound(why): return "refused by the server's routing bounds: \(why)"
        case let .greedyRouting(l, share, lim):
            return String(format: "the expert takes %.1f%% of the gate weight of the public probe's tokens in layer %d (limit %.1f%%): its router rows win text that is not its own", 100 * share, l, 100 * lim)
        case let .unroutableSignature(why): return "refused by the server's policy (--allow-unroutable-signatures accepts it): \(why)"
        case let .loraRefused(why): return "refused by the server's policy: \(why)"
        case let .duplicate(what): return "a contribution with the same \(what) was already accepted"
        }
    }
}

extension ContributionError {
    static func from(_ v: PolicyViolation) -> ContributionError {
        switch v {
        case let .privacy(why): return .privacyPolicy(why)
        case let .stale(why): return .stale(why)
        case let .layers(why): return .layersRefused(why)
        case let .budget(spent, asked, budget): return .budget(spent: spent, asked: asked, budget: budget)
        case let .routing(why): return .routingBound(why)
        case let .unroutable(why): return .unroutableSignature(why)
        case let .lora(why): return .loraRefused(why)
        }
    }
}

/// Everything else the HTTP API can refuse with.
public enum ServerError: CodedError, Equatable {
    case notFound(String)
    case badRequest(String)
    case conflict(String)
    case unavailable(String)
    case forbidden(String)
    /// Temporarily over a bound (uploads, compute queue, staged bytes): retry later.
    case busy(String)
    /// The request's body took longer than the server allows.
    case timeout(String)
    /// The client closed its connection before its work began (the work is dropped).
    case clientGone
    /// It existed and is gone on purpose (a pruned release's files).
    case gone(String)
    /// Publishing would pass the operator's disk budget, or the disk's free space.
    case insufficientStorage(String)

    public var code: String {
        switch self {
        case .notFound: return "api.not_found"
        case .badRequest: return "api.bad_request"
        case .conflict: return "api.conflict"
        case .unavailable: return "api.unavailable"
        case .forbidden: return "api.forbidden"
        case .busy: return "api.busy"
        case .timeout: return "api.timeout"
        case .clientGone: return "api.client_gone"
        case .gone: return "api.gone"
        case .insufficientStorage: return "server.disk_budget"
        }
    }

    public var message: String {
        switch self {
        case let .notFound(m), let .badRequest(m), let .conflict(m), let .unavailable(m), let .forbidden(m), let .busy(m), let .timeout(m): return m
        case .clientGone: return "the client closed the connection; its work was dropped"
        case let .gone(m), let .insufficientStorage(m): return m
        }
    }
}
