import ArgumentParser
import TributaryCommandLine
import Foundation
import Hummingbird
import Logging
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the aggregation server: verification, transparency log, releases, routing.",
        discussion: """
        DIR holds everything (SQLite in WAL mode, content-addressed blobs, releases, the log key \
        created on first start). The log's verifier key is printed at start and written to DIR/log.pub.

        Replicas: any number of `serve` processes with one --database postgres://… and one --store \
        (a directory all of them reach) share the log, the blobs and the releases. Each keeps its \
        own DIR holding a copy of the same log.key. README, "Running several replicas".
        """)

    @Option(name: .customLong("dir"), help: "Data directory.") var directory: String
    @Option(help: "Anchor directory (from `tributary anchor train`).") var anchor: String
    @Option(parsing: .upToNextOption, help: "Public text for the harmful-expert probe.") var probe: [String]
    @Option(help: "Bytes of the probe text read (a forward pass of the anchor at start and of each contribution; default: sized from the anchor, 8 to 256 KB).") var probeBytes: Int?
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "TLS certificate chain (PEM).") var tlsCert: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Flag(help: "Serve plain HTTP on an address other hosts reach (otherwise refused without TLS).") var allowPlainHttp = false
    @Option(help: "Log origin (also the log key's name).") var origin = "tributary.local/log"
    @Option(help: "The operator's verifier key (or a file with it); admin requests must be signed by it.") var operatorKey: String?
    @Option(help: "Largest accepted upload.") var maxUploadBytes: UInt64 = 4 << 30
    @Option(help: "Largest accepted DP epsilon.") var maxEpsilon = 10.0
    @Option(help: "Largest accepted DP delta.") var maxDelta = 1e-5
    @Option(help: "Epsilon each organisation may spend over all its contributions (default: no budget).") var organisationEpsilonBudget: Double?
    @Option(help: "Oldest accepted statement, in seconds.") var maxStatementAge: Int64 = 30 * 86_400
    @Option(help: "Smallest accepted minimum cluster size.") var minClusterSize = ContributionPolicy().minClusterSize
    @Flag(help: "Accept --no-dp signatures.") var allowNoDp = false
    @Flag(help: "Refuse experts not trained with DP-SGD (then a contribution's (ε, δ) covers everything it publishes).") var requireDpTraining = false
    @Flag(help: "Refuse router rows published as trained (not DP).") var requireDpRouterRows = false
    @Option(help: "Largest expert/anchor FFN norm ratio per layer.") var maxNormRatio = 2.0
    @Option(help: "Largest relative rise of the probe's bits per byte.") var probeTolerance = 0.05
    @Option(help: "Largest router row / anchor row norm ratio per expert layer.") var maxRouterRowRatio = ContributionPolicy().maxRouterRowRatio!
    @Option(help: "Largest centroid norm.") var maxCentroidNorm = ContributionPolicy().maxCentroidNorm!
    @Option(help: "Largest share of the public probe's gate weight a new expert may take in any layer (0 to 1).") var maxProbeGateShare = ContributionPolicy().maxProbeGateShare!
    @Option(help: "Highest rank a LoRA expert may have.") var maxLoraRank = ContributionPolicy().maxLoRARank!
    @Option(help: "Largest noise ratio of a routing signature's centroid: the DP noise's expected norm on its sum over its published count.")
    var maxSignatureNoiseRatio = ContributionPolicy().maxSignatureNoiseRatio!
    @Flag(help: "Accept routing signatures that cannot route (no centroid, or noise beyond --max-signature-noise-ratio).")
    var allowUnroutableSignatures = false
    @OptionGroup var tuning: RouterTuningArguments
    @Option(help: "Experts per token in releases.") var expertsPerToken = 2
    @Option(help: "A set of anchor layers experts may cover: all, 22-29, 0,4-7 (repeat for several; default: all).") var expertLayers: [LayerSet] = []
    @Flag(help: "Do not publish a release after every change (use POST /v1/releases).") var noAutoRelease = false
    @Option(help: "Uploads in progress at once, in all.") var maxConcurrentUploads = 8
    @Option(help: "Uploads in progress at once per organisation.") var maxUploadsPerOrganisation = 2
    @Option(help: "Bytes all staged uploads may hold on disk together.") var maxStagedBytes: UInt64 = 8 << 30
    @Option(help: "Seconds a whole upload may take.") var uploadDeadline: Int64 = 900
    @Option(help: "Seconds an upload's envelope (its first archive entry) may take to arrive.") var envelopeDeadline = 10.0
    @Option(help: "Bytes a second an upload must average once its envelope's time is over.") var minUploadRate = 16 * 1024
    @Option(help: "Uploads whose envelope is still to come, at once (they hold no upload slot).") var maxPendingUploads = 64
    @Option(help: "Seconds a JSON request body may take to arrive.") var bodyDeadline: Int64 = 30
    @Option(help: "Seconds a connection may stay silent before it is closed.") var idleTimeout: Int64 = 30
    @Option(help: "Computations of each lane (routing; scoring, generation, verification) that may wait beyond the running ones.") var computeQueue = 64
    @Option(help: "Tokens one /v1/generate request may ask for.") var maxGenerateTokens = 512
    @Option(help: "Tokens one /v1/route request may have embedded, all its texts together.") var maxRouteTokens = 8192
    @Option(name: .customLong("route-batch-window-ms"), help: "Milliseconds the first /v1/route query that finds the server idle waits for others to share its anchor pass (0-10).")
    var routeBatchWindowMilliseconds = 5
    @Option(help: "Release directories to keep whole (older ones keep their manifest and are rebuilt bit for bit by `tributary fetch-release`); 0 keeps all.") var keepReleases = 3
    @Option(help: "Bytes all release directories may take together (a publish that would pass it is refused, 507).") var releaseDiskBudget: UInt64?
    @Option(help: "An ECDSA P-256 private key (PEM, mode 0600; `tributary keygen --release-key`): each release then carries an OpenSSF model signature (model.sig) that `model_signing verify key` checks.")
    var releaseSigningKey: String?
    @Option(help: "A witness that cosigns every checkpoint: URL=COSIGNER_KEY (repeat; `tributary witness keygen` prints the key).")
    var witness: [String] = []
    @Option(help: "Cosignatures a checkpoint needs before /checkpoint and the tiles show it (default with --witness: all of them).")
    var witnessQuorum: Int?
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Directory for blobs and releases that every replica reaches (default: DIR).") var store: String?
    @Option(help: "This replica's name (default: host name and a tag of DIR).") var replica: String?
    @Option(help: "Seconds between a replica's looks for releases and opt-outs made through other replicas.") var replicaPoll = 1.0
    @Option(help: "Seconds a replica building a release holds the lease without renewing it (it renews every third of it).") var releaseLease: Int64 = 30
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func config() throws -> ServerConfig {
        var c = ServerConfig(directory: directory, anchor: anchor, probe: probe)
        c.probeBytes = probeBytes
        c.host = host
        c.port = port
        c.tlsCertificate = tlsCert
        c.tlsKey = tlsKey
        c.allowPlainHTTP = allowPlainHttp
        c.origin = origin
        c.operatorKey = try operatorKey.map(loadVerifierKey)
        c.maxUploadBytes = maxUploadBytes
        c.policy.maxEpsilon = maxEpsilon
        c.policy.maxDelta = maxDelta
        c.policy.organisationEpsilonBudget = organisationEpsilonBudget
        c.policy.maxStatementAgeSeconds = maxStatementAge
        c.policy.minClusterSize = minClusterSize
        c.policy.allowNoDP = allowNoDp
        c.policy.requireDPTraining = requireDpTraining
        c.policy.requireDPRouterRows = requireDpRouterRows
        c.policy.maxNormRatio = maxNormRatio
        c.policy.probeTolerance = probeTolerance
        c.policy.maxRouterRowRatio = maxRouterRowRatio
        c.policy.maxCentroidNorm = maxCentroidNorm
        c.policy.maxProbeGateShare = maxProbeGateShare
        c.policy.maxLoRARank = maxLoraRank
        c.policy.maxSignatureNoiseRatio = allowUnroutableSignatures ? nil : maxSignatureNoiseRatio
        c.policy.routerTuning = try tuning.recipe()
        if !expertLayers.isEmpty {
            // Resolved against the anchor when the server starts (`all` needs its layer count).
            let n = try ModelDirectory.loadConfig(anchor).numLayers
            c.policy.expertLayerSets = try expertLayers.map { try $0.resolve(count: n) }
        }
        c.expertsPerToken = expertsPerToken
        c.autoRelease = !noAutoRelease
        c.maxConcurrentUploads = maxConcurrentUploads
        c.maxUploadsPerOrganisation = maxUploadsPerOrganisation
        c.maxStagedBytes = maxStagedBytes
        c.uploadDeadlineSeconds = uploadDeadline
        c.envelopeDeadlineSeconds = envelopeDeadline
        c.minUploadBytesPerSecond = minUploadRate
        c.maxPendingUploads = maxPendingUploads
        c.bodyDeadlineSeconds = bodyDeadline
        c.idleTimeoutSeconds = idleTimeout
        c.computeQueue = computeQueue
        c.maxGenerateTokens = maxGenerateTokens
        c.maxRouteTokens = maxRouteTokens
        c.routeBatchWindowMilliseconds = routeBatchWindowMilliseconds
        c.keepReleases = keepReleases == 0 ? nil : keepReleases
        c.releaseDiskBudget = releaseDiskBudget
        c.releaseSigningKey = try releaseSigningKey.map(loadP256PrivateKey)
        c.witnesses = try witness.map { spec in
            guard let eq = spec.firstIndex(of: "=") else { throw TributaryError("server.invalid_config", "--witness takes URL=COSIGNER_KEY, got \(spec)") }
            return WitnessEndpoint(url: String(spec[..<eq]), key: try loadCosignerKey(String(spec[spec.index(after: eq)...])))
        }
        c.witnessQuorum = witnessQuorum ?? c.witnesses.count
        c.database = try database.location()
        c.store = store
        c.replica = replica ?? (c.database == nil && store == nil ? "local" : defaultReplicaName(directory: directory))
        c.replicaPollSeconds = replicaPoll
        c.releaseLeaseSeconds = releaseLease
        try c.validate()
        return c
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            var logger = Logger(label: "tributary.server")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let server = try await AggregationServer.open(try config(), logger: logger)
            let scheme = tlsCert == nil ? "http" : "https"
            let app = try ServerApplication.make(server: server) { port in
                // Unbuffered: scripts wait for this line on a pipe.
                FileHandle.standardOutput.write(Data("tributary serving on \(scheme)://\(host):\(port)\nlog key: \(server.logVerifierKey.encoded)\n".utf8))
            }
            try await app.runService()
        }
    }
}
