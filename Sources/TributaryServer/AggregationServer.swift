import Foundation
import Logging
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting

/// The aggregation server's operations, independent of HTTP: the routes call these, and so do the
/// local admin commands and the tests.
public final class AggregationServer: Sendable {
    public let config: ServerConfig
    public let store: MetadataStore
    public let blobs: BlobStore
    public let anchor: AnchorDirectory
    public let logKey: SigningKey
    public let verifier: ContributionVerifier
    public let releases: ReleaseBuilder
    public let pool: ComputePool
    public let logger: Logger
    public let metrics: ServerMetrics

    public var logVerifierKey: VerifierKey { logKey.verifierKey }

    /// Opens (creating on first start) the data directory: the log key, the database, the anchor,
    /// the probe, and the latest release. Refuses a directory made for another anchor or whose log
    /// no longer matches its signed checkpoints.
    public static func open(_ config: ServerConfig, logger: Logger = Logger(label: "tributary.server")) async throws -> AggregationServer {
        let fm = FileManager.default
        for d in [config.directory, config.blobDirectory, config.releaseDirectory, config.tempDirectory] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        // Uploads that were in flight when the server stopped are discarded.
        for name in (try? fm.contentsOfDirectory(atPath: config.tempDirectory)) ?? [] {
            try? fm.removeItem(atPath: config.tempDirectory + "/" + name)
        }
        let logKey = try loadOrCreateLogKey(config, logger: logger)
        let anchor = try AnchorDirectory.load(config.anchor)
        let store = try MetadataStore(path: config.databasePath, logKey: logKey, anchorDigest: anchor.digest)
        let pool = ComputePool(width: config.computeThreads)
        guard !config.probe.isEmpty else {
            throw TributaryError("server.no_probe", "the harmful-expert probe needs public text: pass --probe PATH")
        }
        var probeOptions = Corpus.LoadOptions()
        probeOptions.maxTotalBytes = 256 * 1024
        let probeText = try Corpus.load(paths: config.probe, options: probeOptions)
        let probe = try await pool.run {
            ExpertProbe(anchor: anchor, probe: probeText, tolerance: config.policy.probeTolerance, workers: config.computeThreads)
        }
        logger.info("probe ready", metadata: ["documents": "\(probeText.documents.count)", "anchor_bpb": "\(probe.anchorBitsPerByte)"])
        let blobs = try BlobStore(directory: config.blobDirectory)
        // Blobs of uploads that died between the blob move and the commit: referenced by nothing.
        let referenced = Set(try await store.allContributions().flatMap { [$0.expertSHA256, $0.routingSHA256, $0.envelopeSHA256, $0.statementSHA256] })
        let removed = blobs.removeUnreferenced(keeping: referenced)
        if removed > 0 { logger.notice("removed unreferenced blobs", metadata: ["count": "\(removed)"]) }
        let releases = ReleaseBuilder(config: config, store: store, blobs: blobs, anchor: anchor, logKey: logKey, pool: pool)
        try await releases.recover()
        let server = AggregationServer(config: config, store: store, blobs: blobs, anchor: anchor, logKey: logKey,
                                       verifier: ContributionVerifier(anchor: anchor, policy: config.policy, probe: probe),
                                       releases: releases, pool: pool, logger: logger, metrics: ServerMetrics.shared)
        server.metrics.logSize.record(Int64(await store.logSize))
        return server
    }

    init(config: ServerConfig, store: MetadataStore, blobs: BlobStore, anchor: AnchorDirectory, logKey: SigningKey,
         verifier: ContributionVerifier, releases: ReleaseBuilder, pool: ComputePool, logger: Logger, metrics: ServerMetrics) {
        self.config = config
        self.store = store
        self.blobs = blobs
        self.anchor = anchor
        self.logKey = logKey
        self.verifier = verifier
        self.releases = releases
        self.pool = pool
        self.logger = logger
        self.metrics = metrics
    }

    /// The server's Ed25519 log key, `DIR/log.key` (mode 0600), created on first start with the origin as its name.
    public static func loadOrCreateLogKey(_ config: ServerConfig, logger: Logger) throws -> SigningKey {
        if FileManager.default.fileExists(atPath: config.logKeyPath) {
            var bytes = try readSmallFile(config.logKeyPath, limit: 4096)
            defer { secureZero(&bytes) }
            let key = try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
            guard key.name == config.origin else {
                throw TributaryError("server.origin_mismatch", "the log key in \(config.logKeyPath) is for origin \(key.name), not \(config.origin)")
            }
            return key
        }
        let key = try SigningKey.generate(name: config.origin)
        var text = Array((key.encodedPrivateKey() + "\n").utf8)
        defer { secureZero(&text) }
        try AtomicFileWriter.write(text, to: config.logKeyPath, mode: 0o600)
        try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: config.directory + "/log.pub")
        logger.notice("created log key", metadata: ["verifier_key": "\(key.verifierKey.encoded)"])
        return key
    }

    /// Publishes a release in the background after a change, when automatic releases are on.
    func scheduleRelease() {
        guard config.autoRelease else { return }
        let releases = self.releases, logger = self.logger
        Task { await releases.schedulePublish { logger.error("release failed", metadata: ["error": "\($0)"]) } }
    }
}
