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
    public let uploads: UploadGate
    public let logger: Logger
    public let metrics: ServerMetrics
    /// The policy in force, as logged (a DSSE envelope signed by the log key), and its log index.
    public let policyDocument: [UInt8]
    public let policyIndex: UInt64
    /// Gathers witness cosignatures (nil without witnesses).
    let witnessing: CheckpointWitnessing?
    /// Embeds `/v1/route` queries that arrive together in one anchor pass.
    let routeBatcher: RouteBatcher
    /// Decodes `/v1/generate` requests together, each in a slot of its own.
    let generation: GenerationEngine
    let background: BackgroundTasks

    public var logVerifierKey: VerifierKey { logKey.verifierKey }

    /// Opens (creating on first start) the data directory: the log key, the database, the anchor,
    /// the probe, and the latest release. Refuses a directory made for another anchor, one whose log
    /// no longer matches its signed checkpoints, and a log key that is missing, replaced or readable
    /// by others while the log holds entries.
    public static func open(_ config: ServerConfig, logger: Logger = Logger(label: "tributary.server")) async throws -> AggregationServer {
        try config.validate()
        if try config.listener.checkTransport("the API") {
            logger.warning("serving plain HTTP on a non-loopback address: signed requests and uploads travel unencrypted", metadata: ["host": "\(config.host)"])
        }
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
        let store = try MetadataStore(database: config.databaseLocation, logKey: logKey, anchorDigest: anchor.digest)
        let pool = ComputePool(width: config.computeThreads, queue: config.computeQueue)
        guard !config.probe.isEmpty else {
            throw TributaryError("server.no_probe", "the harmful-expert probe needs public text: pass --probe PATH")
        }
        var probeOptions = Corpus.LoadOptions()
        probeOptions.maxTotalBytes = config.probeBytes ?? ExpertProbe.defaultBytes(anchor.model)
        let probeText = try Corpus.load(paths: config.probe, options: probeOptions)
        logger.info("computing the probe's baseline with the anchor before listening", metadata: ["bytes": "\(probeText.totalBytes)"])
        let probe = try await pool.run(ownWork: true) {
            ExpertProbe(anchor: anchor, probe: probeText, tolerance: config.policy.probeTolerance, workers: config.computeThreads)
        }
        logger.info("probe ready", metadata: ["documents": "\(probeText.documents.count)", "bytes": "\(probeText.totalBytes)",
                                              "anchor_bpb": "\(probe.anchorBitsPerByte)"])
        // The policy in force is in the log: a new one (or the first) is logged before anything it governs.
        let policyIndex = try await store.recordPolicy(PolicyDocument(origin: config.origin, anchorSHA256: anchor.digest, policy: config.policy))
        guard let policyDocument = try await store.currentPolicy()?.document else { throw StoreError.corrupt("no policy in the log") }
        let pruned = try await store.pruneNonces()
        if pruned > 0 { logger.info("pruned replay nonces past their window", metadata: ["count": "\(pruned)"]) }
        let blobs = try BlobStore(directory: config.blobDirectory)
        // Blobs of uploads that died between the blob move and the commit: referenced by nothing.
        let referenced = Set(try await store.allContributions().flatMap { [$0.expertSHA256, $0.routingSHA256, $0.envelopeSHA256, $0.statementSHA256] })
        // With replicas, another one may be between adopting an upload's blobs and committing it:
        // only blobs older than any upload can be are theirs to remove.
        let removed = blobs.removeUnreferenced(keeping: referenced, olderThan: config.databaseLocation.isShared
            ? Date().addingTimeInterval(-TimeInterval(config.uploadDeadlineSeconds + 3600)) : nil)
        if removed > 0 { logger.notice("removed unreferenced blobs", metadata: ["count": "\(removed)"]) }
        if let r = config.policy.routerTuning, r.seqLen >= anchor.model.config.contextLength {
            throw TributaryError("server.invalid_config", "--router-tuning-seq-len \(r.seqLen) must be below the anchor's context of \(anchor.model.config.contextLength) tokens")
        }
        // Router tuning replays the probe text's first tokens, which each tuned release logs.
        let tuningPublic = config.policy.routerTuning.map { RouterTuning.publicStream(probeText, tokenizer: anchor.model.tokenizer, count: $0.publicTokens) } ?? []
        let releases = ReleaseBuilder(config: config, store: store, blobs: blobs, anchor: anchor, logKey: logKey, pool: pool,
                                      tuningPublicTokens: tuningPublic)
        try await releases.recover()
        let server = AggregationServer(
            config: config, store: store, blobs: blobs, anchor: anchor, logKey: logKey,
            verifier: ContributionVerifier(anchor: anchor, policy: config.policy, origin: config.origin, probe: probe),
            releases: releases, pool: pool,
            uploads: UploadGate(maxUploads: config.maxConcurrentUploads, maxPerOrganisation: config.maxUploadsPerOrganisation,
                                maxStagedBytes: config.maxStagedBytes, maxPending: config.maxPendingUploads),
            logger: logger, metrics: ServerMetrics.shared, policyDocument: policyDocument, policyIndex: policyIndex,
            witnessing: try config.witnesses.isEmpty ? nil : CheckpointWitnessing(store: store, endpoints: config.witnesses,
                                                                                 quorum: config.witnessQuorum, logger: logger,
                                                                                 executor: config.taskExecutor))
        server.metrics.logSize.record(Int64(await store.logSize))
        // A change acknowledged before a crash may not have reached a release yet.
        server.scheduleRelease()
        if server.witnessing != nil {
            await store.requireWitnesses()
            server.keepPublishingCheckpoints()
        }
        if config.databaseLocation.isShared { server.keepReplicaCurrent() }
        return server
    }

    /// With a shared database: every `replicaPollSeconds`, picks up releases, opt-outs and takedowns
    /// that other replicas committed. A failed look (the database restarting) is retried next time.
    func keepReplicaCurrent() {
        let releases = self.releases, logger = self.logger, interval = UInt64(config.replicaPollSeconds * 1e9)
        background.start {
            var failing = false
            while !Task.isCancelled {
                do {
                    try await releases.refresh()
                    if failing { logger.notice("replica caught up with the database again") }
                    failing = false
                } catch {
                    if !failing { logger.warning("replica cannot read the database; retrying", metadata: ["error": "\(error)"]) }
                    failing = true
                }
                do { try await Task.sleep(nanoseconds: interval) } catch { return }
            }
        }
    }

    /// Retries publication every 2 s while witnesses were down or short of the quorum: every
    /// checkpoint is eventually published once enough of them answer. Ends with the server.
    func keepPublishingCheckpoints() {
        background.start { [weak self] in
            while !Task.isCancelled {
                guard let witnessing = self?.witnessing else { return }
                await witnessing.publish()
                do { try await Task.sleep(nanoseconds: 2_000_000_000) } catch { return }
            }
        }
    }

    /// Stops the server's background work (the checkpoint retry loop): a stopped server must not
    /// keep writing to a database another process may open next.
    public func shutdown() { background.cancelAll() }

    /// `r` against the published (cosigned) checkpoint once it covers `r`'s entry, with the inclusion
    /// proof for that size; else `r` as the log signed it (published later, by the retry loop).
    func witnessed(_ r: AppendResult) async -> AppendResult {
        guard let witnessing, let published = await witnessing.publish(), published.size >= r.size,
              let proof = try? await store.inclusionProof(index: r.index, size: published.size) else { return r }
        return AppendResult(index: r.index, size: published.size, checkpoint: published.note, proof: proof)
    }

    init(config: ServerConfig, store: MetadataStore, blobs: BlobStore, anchor: AnchorDirectory, logKey: SigningKey,
         verifier: ContributionVerifier, releases: ReleaseBuilder, pool: ComputePool, uploads: UploadGate, logger: Logger,
         metrics: ServerMetrics, policyDocument: [UInt8], policyIndex: UInt64, witnessing: CheckpointWitnessing?) {
        self.config = config
        self.store = store
        self.blobs = blobs
        self.anchor = anchor
        self.logKey = logKey
        self.verifier = verifier
        self.releases = releases
        self.pool = pool
        self.uploads = uploads
        self.logger = logger
        self.metrics = metrics
        self.policyDocument = policyDocument
        self.policyIndex = policyIndex
        self.witnessing = witnessing
        routeBatcher = RouteBatcher(pool: pool, windowMilliseconds: config.routeBatchWindowMilliseconds, maxTokens: config.maxRouteTokens,
                                    maxWaiting: pool.width + pool.queue, workers: pool.width)
        generation = GenerationEngine(pool: pool, maxWaiting: pool.width + pool.queue)
        background = BackgroundTasks(executor: config.taskExecutor)
    }

    /// The server's Ed25519 log key, `DIR/log.key` (mode 0600), created on first start with the
    /// origin as its name. Refused when readable by group or others, and never created anew for a
    /// database that already holds a log (the checkpoints would no longer verify).
    public static func loadOrCreateLogKey(_ config: ServerConfig, logger: Logger) throws -> SigningKey {
        if FileManager.default.fileExists(atPath: config.logKeyPath) {
            var bytes = try readSecretFile(config.logKeyPath)
            defer { secureZero(&bytes) }
            let key = try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
            guard key.name.sameBytes(config.origin) else {
                throw TributaryError("server.origin_mismatch", "the log key in \(config.logKeyPath) is for origin \(key.name), not \(config.origin)")
            }
            return key
        }
        switch config.databaseLocation {
        case let .sqlite(path):
            if FileManager.default.fileExists(atPath: path) {
                throw StoreError.logKeyMismatch("\(path) exists but \(config.logKeyPath) does not: restore the log key; a new one would sign a second history")
            }
        case let .postgres(p):
            if try MetadataStore.holdsLog(.postgres(p)) {
                throw StoreError.logKeyMismatch("\(p) holds a log but \(config.logKeyPath) does not exist: copy the log key every replica of this database uses; a new one would sign a second history")
            }
        }
        let key = try SigningKey.generate(name: config.origin)
        var text = Array((key.encodedPrivateKey() + "\n").utf8)
        defer { secureZero(&text) }
        try AtomicFileWriter.write(text, to: config.logKeyPath, mode: 0o600)
        try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: config.directory + "/log.pub")
        logger.notice("created log key", metadata: ["verifier_key": "\(key.verifierKey.encoded)"])
        return key
    }

    /// Publishes a release in the background after a change, when automatic releases are on; a
    /// failed publish is retried until it succeeds, so an acknowledged opt-out always reaches one.
    func scheduleRelease() {
        guard config.autoRelease else { return }
        let releases = self.releases, logger = self.logger
        Task(executorPreference: config.taskExecutor) { await releases.schedulePublish { logger.error("release failed; retrying", metadata: ["error": "\($0)"]) } }
    }

    /// Routing stops naming these contributions at once, before the release that drops them.
    func dropFromRouting(_ contributions: [UInt64]) async {
        await releases.withdraw(contributions)
    }
}
