import Foundation
import TributaryCore

/// What the server accepts beyond a valid signature (protocol/SPEC.md §11.3).
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
    public init() {}

    public var json: JSONValue {
        .object([("maxEpsilon", .double(maxEpsilon)), ("maxDelta", .double(maxDelta)), ("minClusterSize", .int(minClusterSize)),
                 ("allowNoDP", .bool(allowNoDP)), ("requireDPRouterRows", .bool(requireDPRouterRows)),
                 ("maxNormRatio", .double(maxNormRatio)), ("probeTolerance", .double(probeTolerance))])
    }
}

public struct ServerConfig: Sendable {
    /// Data directory: tributary.sqlite, blobs/, releases/, tmp/, log.key.
    public var directory: String
    public var anchor: String
    /// Public text the harmful-expert probe scores contributions on.
    public var probe: [String]
    public var host = "127.0.0.1"
    public var port = 8080
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Log origin and the name of the log key (C2SP: they are the same).
    public var origin = "tributary.local/log"
    public var maxUploadBytes: UInt64 = 4 << 30
    public var policy = ContributionPolicy()
    /// The operator's verifier key: admin requests must be signed by it.
    public var operatorKey: VerifierKey?
    /// Experts each token is routed to in a release (`num_experts_per_tok`).
    public var expertsPerToken = 2
    /// Publish a new release after every accepted contribution or revocation.
    public var autoRelease = true
    /// Worker threads for model computation (probe, releases, scoring).
    public var computeThreads = 2
    /// A connection that sends nothing for this long is closed (slow-loris uploads included).
    public var idleTimeoutSeconds: Int64 = 30

    public init(directory: String, anchor: String, probe: [String]) {
        self.directory = directory
        self.anchor = anchor
        self.probe = probe
    }

    public var databasePath: String { directory + "/tributary.sqlite" }
    public var blobDirectory: String { directory + "/blobs" }
    public var releaseDirectory: String { directory + "/releases" }
    public var tempDirectory: String { directory + "/tmp" }
    public var logKeyPath: String { directory + "/log.key" }
}
