import Foundation
import TributaryCore
import TributaryHTTP
import TributaryLog

public struct ServerConfig: Sendable {
    /// Data directory: tributary.sqlite, blobs/, releases/, tmp/, log.key.
    public var directory: String
    public var anchor: String
    /// Public text the harmful-expert probe scores contributions on.
    public var probe: [String]
    /// Bytes of the probe text read (the first documents): its cost is a forward pass of the anchor
    /// at start and of every contribution's 2-expert model. Nil: sized from the anchor
    /// (`ExpertProbe.defaultBytes`); 256 KB, the byte models' size, kept SmolLM2's server from
    /// answering `/healthz` for 326 s.
    public var probeBytes: Int?
    public var host = "127.0.0.1"
    public var port = 8080
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Serve plain HTTP on an address other hosts reach (needs saying so: `--allow-plain-http`).
    public var allowPlainHTTP = false
    /// Log origin and the name of the log key (C2SP: they are the same). Statements and signed
    /// requests must name it.
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
    /// Requests for computation that may wait beyond the running ones; more get 503.
    public var computeQueue = 64
    /// A connection that sends nothing for this long is closed (slow-loris uploads included).
    public var idleTimeoutSeconds: Int64 = 30
    /// A whole upload must arrive within this time, however it trickles.
    public var uploadDeadlineSeconds: Int64 = 900
    /// An upload's envelope (its first archive entry, a few KB) must arrive within this time: until it
    /// does, nobody knows who is uploading.
    public var envelopeDeadlineSeconds = 10.0
    /// After the envelope's time, an upload must average at least this many bytes a second (16 KiB/s:
    /// a modem's pace; an 85 MB SmolLM2 expert then takes 90 minutes, beyond the upload deadline anyway).
    public var minUploadBytesPerSecond = 16 * 1024
    /// Uploads whose envelope is still to come, at once (they hold no upload slot).
    public var maxPendingUploads = 64
    /// A JSON request body must arrive within this time.
    public var bodyDeadlineSeconds: Int64 = 30
    /// Uploads in progress at once, in all and per organisation; staged bytes of all of them.
    public var maxConcurrentUploads = 8
    public var maxUploadsPerOrganisation = 2
    public var maxStagedBytes: UInt64 = 8 << 30
    /// `/v1/generate`: tokens per request at most.
    public var maxGenerateTokens = 512
    /// `/v1/route`: tokens one request may have embedded, all texts together (each text counts at
    /// most its embedding's tokens, 256 on SmolLM2). 8,192 is ~20 s of SmolLM2 on 2 cores.
    public var maxRouteTokens = 8192
    /// `/v1/route`: how long the first query that finds the batcher idle waits for others to share its
    /// anchor pass (queries arriving while a pass runs join the next one without waiting). 0 to 10 ms.
    public var routeBatchWindowMilliseconds = 5
    /// Release directories kept whole (older ones keep their signed manifest and lose their model
    /// files, 410 `api.gone`; anyone rebuilds them bit for bit from the logged bundles and the anchor,
    /// `tributary fetch-release`, and `audit --rebuild-pruned` checks such rebuilds); nil keeps every
    /// release. Default 3: the current release, the one before it (downloads of a release just
    /// superseded finish, and the release before an opt-out stays whole to compare with), and one
    /// more for a release built by mistake. Every release used to be kept: 10 submit/revoke cycles took
    /// a deployment from 12 to 32 release directories, 1.7 GB each on SmolLM2.
    public var keepReleases: Int? = 3
    /// Bytes all release directories together may take: a publish that would pass it is refused before
    /// anything is written (507 `server.disk_budget`). Nil: no budget (the disk's free space still is one).
    public var releaseDiskBudget: UInt64?
    /// The operator's release key (ECDSA P-256): each release directory then also carries an OpenSSF
    /// model signature (`model.sig`) over all its files, which `model_signing verify key` checks with
    /// nobody's code but model-signing's. Nil: releases carry only the log-signed manifest.
    public var releaseSigningKey: P256PrivateKey?
    /// Witnesses asked to cosign every checkpoint (C2SP tlog-witness), and how many must have: with
    /// any, `/checkpoint` and the tiles show only checkpoints that met the quorum.
    public var witnesses: [WitnessEndpoint] = []
    public var witnessQuorum = 0

    /// The metadata database: nil is the embedded default, `DIR/tributary.sqlite`.
    public var database: DatabaseLocation?
    /// Where blobs and releases live (`STORE/blobs`, `STORE/releases`, uploads staged in
    /// `STORE/tmp/REPLICA`): a directory every replica reaches, on a shared file system. nil: the data
    /// directory.
    public var store: String?
    /// This process's name among the replicas of one database: its staging directory, and the holder
    /// of the release lease while it builds. Stable across restarts of the same replica.
    public var replica = "local"
    /// With a shared database: how often a replica looks for releases, opt-outs and takedowns other
    /// replicas made (the bound on how stale its release and routing can be).
    public var replicaPollSeconds = 1.0
    /// How long a replica may hold the release lease without renewing it (it renews every third of
    /// it while building): a replica that dies holding it delays releases by at most this.
    public var releaseLeaseSeconds: Int64 = 30
    /// Where the server's own long-running tasks run (the witness retry loop, release publishing, the
    /// lease's renewal, the replica poll). nil: Swift's global concurrent executor, right for
    /// `tributary serve`, whose blocking computation goes to `ComputePool`. A process that also runs
    /// blocking work on the cooperative threads (the test suite trains models there) gives the server
    /// threads of its own, or those loops wait behind that work past their deadlines.
    public var taskExecutor: (any TaskExecutor)?

    public init(directory: String, anchor: String, probe: [String]) {
        self.directory = directory
        self.anchor = anchor
        self.probe = probe
    }

    public var databasePath: String { directory + "/tributary.sqlite" }
    public var databaseLocation: DatabaseLocation { database ?? .sqlite(path: databasePath) }
    public var storeDirectory: String { store ?? directory }
    public var blobDirectory: String { storeDirectory + "/blobs" }
    public var releaseDirectory: String { storeDirectory + "/releases" }
    public var tempDirectory: String { store == nil ? directory + "/tmp" : storeDirectory + "/tmp/" + replica }
    public var logKeyPath: String { directory + "/log.key" }

    /// Refuses settings that cannot work, before anything is opened.
    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("server.invalid_config", why) } }
        try policy.validate()
        try check(LogOrigin.isValid(origin), "the origin must be 1 to 255 printable ASCII characters without spaces")
        try listener.validate()
        try check(maxUploadBytes >= 1024, "the upload limit must be at least 1 KiB")
        try check((1...64).contains(expertsPerToken), "experts per token must be in 1...64")
        try check((1...256).contains(computeThreads) && (0...10_000).contains(computeQueue), "compute threads 1...256, queue 0...10000")
        try check((1...86_400).contains(uploadDeadlineSeconds) && (1...3600).contains(bodyDeadlineSeconds),
                  "timeouts must be positive (upload ≤ 1 day, body ≤ 1 h)")
        try check((1...10_000).contains(maxConcurrentUploads) && (1...maxConcurrentUploads).contains(maxUploadsPerOrganisation),
                  "concurrent uploads 1...10000, per organisation 1...that")
        try check(maxStagedBytes >= maxUploadBytes, "staged bytes must hold at least one upload (--max-staged-bytes ≥ --max-upload-bytes)")
        try check(envelopeDeadlineSeconds > 0 && envelopeDeadlineSeconds <= 3600, "the envelope deadline must be in (0, 3600] s (--envelope-deadline)")
        try check((0...(1 << 30)).contains(minUploadBytesPerSecond), "the minimum upload pace must be 0 to 1 GiB/s (--min-upload-rate)")
        try check((1...100_000).contains(maxPendingUploads), "pending uploads 1...100000 (--max-pending-uploads)")
        if let probeBytes { try check((1024...(1 << 30)).contains(probeBytes), "the probe must read 1 KiB to 1 GiB (--probe-bytes)") }
        try check((1...8192).contains(maxGenerateTokens), "generated tokens per request must be in 1...8192")
        try check((1...1 << 24).contains(maxRouteTokens), "routing tokens per request must be in 1...16777216 (--max-route-tokens)")
        try check((0...10).contains(routeBatchWindowMilliseconds), "the routing batch window must be 0 to 10 ms (--route-batch-window-ms)")
        if let k = keepReleases { try check(k >= 1, "keep at least one release") }
        try check(ReplicaName.isValid(replica), "the replica name must be 1 to 64 characters of a-z, A-Z, 0-9, '.', '_' or '-' (--replica)")
        try check((0.05...60).contains(replicaPollSeconds), "the replica poll interval must be 0.05 to 60 s")
        try check((10...86_400).contains(releaseLeaseSeconds), "the release lease must be 10 s to 1 day")
        if !witnesses.isEmpty {
            do { _ = try WitnessPolicy(witnesses: witnesses.map(\.key), quorum: witnessQuorum) } catch {
                throw TributaryError("server.invalid_config", error.message + " (--witness, --witness-quorum)")
            }
        } else {
            try check(witnessQuorum == 0, "--witness-quorum needs --witness")
        }
    }

    /// How the API listens: address, TLS, idle timeout (shared with the witness service).
    public var listener: Listener {
        Listener(host: host, port: port, tlsCertificate: tlsCertificate, tlsKey: tlsKey, allowPlainHTTP: allowPlainHTTP,
                 idleTimeoutSeconds: idleTimeoutSeconds)
    }
}

/// A witness the server asks for cosignatures: where it listens and the key it cosigns with.
public struct WitnessEndpoint: Sendable {
    public let url: String
    public let key: CosignerKey
    public init(url: String, key: CosignerKey) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.key = key
    }
}

/// A replica's name: it names a directory and is stored in the database.
public enum ReplicaName {
    public static func isValid(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        } && s != "." && s != ".."
    }
}
