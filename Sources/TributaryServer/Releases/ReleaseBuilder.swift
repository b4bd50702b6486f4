import Foundation
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting

/// Builds releases: the anchor's shared weights and, in every layer, experts [anchor FFN, live
/// contributions in log order] with router rows stacked the same way (FlexOlmo's merge), as a
/// Mixtral model with a routing index and a manifest signed by the log key; the log entry records
/// the manifest's digest.
///
///     releases/NNNNNN/config.json, model.safetensors, routing-index.safetensors, manifest.json
///     [, model.sig: OpenSSF model signing, when the operator holds a release key]
///
/// Retention (`keepReleases`): older release directories lose their model files but keep the
/// manifest, so any release's membership stays checkable.
public actor ReleaseBuilder {
    let config: ServerConfig
    let store: MetadataStore
    let blobs: BlobStore
    let anchor: AnchorDirectory
    let logKey: SigningKey
    let pool: ComputePool
    /// The public token stream router tuning replays (the probe text's first tokens; §11.12).
    let tuningPublicTokens: [Int32]
    public private(set) var current: LoadedRelease?
    /// Contributions withdrawn or taken down since `current` was built: routing no longer names them.
    public private(set) var withdrawn: Set<UInt64> = []
    /// The last publish queued: each publish waits for the one before it, so two never interleave
    /// (they would pick the same release number).
    private var tail: Task<LoadedRelease?, Error>?
    /// The automatic publisher (`schedulePublish`): running, and changes it has not taken yet.
    private var publisherRunning = false
    private var changedSincePublish = false

    public init(config: ServerConfig, store: MetadataStore, blobs: BlobStore, anchor: AnchorDirectory, logKey: SigningKey, pool: ComputePool,
                tuningPublicTokens: [Int32] = []) {
        self.config = config
        self.tuningPublicTokens = tuningPublicTokens
        self.store = store
        self.blobs = blobs
        self.anchor = anchor
        self.logKey = logKey
        self.pool = pool
    }

    public static func directoryName(_ n: Int) -> String { String(format: "%06d", n) }

    /// Removes release directories a crash left without their log entry, and loads the latest release.
    /// The directories are removed only while holding the release lease: on a store replicas share,
    /// the holder may be writing one right now.
    public func recover() async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: config.releaseDirectory, withIntermediateDirectories: true)
        if try await store.acquireReleaseLease(holder: config.replica, seconds: config.releaseLeaseSeconds) {
            let known = Set(try await store.releaseNumbers())
            for name in try fm.contentsOfDirectory(atPath: config.releaseDirectory) where name.hasPrefix(".tmp-") || Int(name).map({ !known.contains($0) }) == true {
                try? fm.removeItem(atPath: config.releaseDirectory + "/" + name)
            }
            try await store.releaseReleaseLease(holder: config.replica)
        }
        try await refresh()
    }

    /// Catches up with the database: loads a release another replica published, and stops routing to
    /// contributions withdrawn or taken down through any replica. Replicas call it every
    /// `replicaPollSeconds`.
    public func refresh() async throws {
        try await adoptLatest()
        guard let current else { return }
        let live = Set(try await store.liveContributions().map(\.logIndex))
        withdrawn = Set(current.manifest.experts.map(\.contribution).filter { !live.contains($0) })
    }

    /// Loads the latest release when it is newer than the one in memory, after checking its manifest
    /// is the one the log recorded.
    private func adoptLatest() async throws {
        guard let latest = try await store.latestRelease(), latest.number > (current?.manifest.release ?? 0) else { return }
        let manifest = config.releaseDirectory + "/" + Self.directoryName(latest.number) + "/" + ReleaseLayout.manifestFile
        let sha = Hex.encode(try SHA256.digest(fileAt: manifest).digest)
        guard sha == latest.manifestSHA256 else {
            throw StoreError.corrupt("release \(latest.number)'s manifest has SHA-256 \(sha.prefix(16))…, the log recorded \(latest.manifestSHA256.prefix(16))…")
        }
        current = try await load(latest.number)
    }

    public func withdraw(_ contributions: [UInt64]) { withdrawn.formUnion(contributions) }

    public func load(_ number: Int) async throws -> LoadedRelease {
        let dir = config.releaseDirectory + "/" + Self.directoryName(number)
        let anchor = self.anchor
        let key = logKey.verifierKey
        return try await pool.run(.releases, ownWork: true) {
            let manifest = try ReleaseManifest.verify(try readSmallFile(dir + "/" + ReleaseLayout.manifestFile, limit: 1 << 20), key: key)
            let model = try ModelDirectory.load(dir)
            let index = try RoutingIndex.read(dir + "/" + RoutingIndex.fileName, layers: model.config.numLayers, hidden: model.config.hiddenSize)
            return LoadedRelease(directory: dir, manifest: manifest, model: model, index: index,
                                 router: CentroidRouter(index: index), anchor: anchor.model)
        }
    }

    /// Publishes a release of the current live contributions unless the latest release already has
    /// exactly them (`force` publishes regardless), after any publish already under way. Returns the
    /// release now current.
    @discardableResult
    public func publish(force: Bool = false) async throws -> LoadedRelease? {
        let previous = tail
        let task = Task(executorPreference: config.taskExecutor) {
            _ = try? await previous?.value
            return try await self.publishNow(force: force)
        }
        tail = task
        return try await task.value
    }

    /// Publishes after a change: one publisher task per builder takes the changes made so far and
    /// publishes them, so a burst of contributions makes one release, not one per contribution
    /// (a change made during a publish makes one more). A failure is reported and retried with backoff
    /// (1 s doubling to 60 s) until a publish succeeds. The backoff sleeps outside the publish queue:
    /// an operator's publish never waits behind a retry's pause (while the database was down it did,
    /// for up to a minute).
    public func schedulePublish(onError: @escaping @Sendable (Error) -> Void) {
        changedSincePublish = true
        guard !publisherRunning else { return }
        publisherRunning = true
        Task(executorPreference: config.taskExecutor) {
            var wait: UInt64 = 1
            while await self.takeChanges() {
                do {
                    _ = try await self.publish(force: false)
                    wait = 1
                } catch {
                    onError(error)
                    await self.noteUnpublishedChanges()
                    try? await Task.sleep(nanoseconds: wait * 1_000_000_000)
                    wait = min(wait * 2, 60)
                }
            }
        }
    }

    /// Whether there are changes to publish (and takes them); ends the publisher when there are none.
    private func takeChanges() -> Bool {
        if changedSincePublish { changedSincePublish = false; return true }
        publisherRunning = false
        return false
    }

    private func noteUnpublishedChanges() { changedSincePublish = true }

    /// Whether the release in memory already holds exactly these contributions.
    private func isCurrent(_ live: [ContributionRecord]) -> Bool {
        if let cur = current { return cur.manifest.experts.map(\.contribution) == live.map(\.logIndex) }
        return live.isEmpty
    }

    /// How long a publish waits for another replica's lease before answering 503 `api.busy`.
    static let leaseWaitSeconds = 10.0

    /// Builds under the release lease, so that of several replicas one builds and the others pick the
    /// result up: a replica that finds the lease held waits (at most `leaseWaitSeconds`), then
    /// publishes only if the holder's release does not already hold the live contributions.
    private func publishNow(force: Bool) async throws -> LoadedRelease? {
        try await adoptLatest()
        if !force, isCurrent(try await store.releaseSnapshot().0) { return current }
        let waitingSince = Date()
        while try !(await store.acquireReleaseLease(holder: config.replica, seconds: config.releaseLeaseSeconds)) {
            // Bounded: a holder that died keeps the lease until it expires (or it restarts), and a
            // request must not hang that long; the automatic publisher retries, the operator may too.
            if Date().timeIntervalSince(waitingSince) > Self.leaseWaitSeconds {
                let who = try await store.releaseLease().map { "\($0.holder) holds the release lease" } ?? "the release lease is held"
                throw ServerError.busy("\(who): another replica is building a release (waited \(Int(Self.leaseWaitSeconds)) s)")
            }
            try await Task.sleep(nanoseconds: UInt64(config.replicaPollSeconds * 1e9))
            try await adoptLatest()
            if !force, isCurrent(try await store.releaseSnapshot().0) { return current }
        }
        let (store, replica, lease) = (self.store, config.replica, config.releaseLeaseSeconds)
        let renewal = Task(executorPreference: config.taskExecutor) {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: UInt64(lease) * 1_000_000_000 / 3)
                _ = try await store.acquireReleaseLease(holder: replica, seconds: lease)
            }
        }
        defer { renewal.cancel() }
        do {
            let published = try await build(force: force)
            renewal.cancel()
            try? await store.releaseReleaseLease(holder: replica)
            return published
        } catch {
            renewal.cancel()
            try? await store.releaseReleaseLease(holder: replica)
            throw error
        }
    }

    private func build(force: Bool) async throws -> LoadedRelease? {
        // Read again under the lease: another replica may have published while this one waited.
        try await adoptLatest()
        let (live, logSize) = try await store.releaseSnapshot()
        if !force, isCurrent(live) { return current }
        let number = (try await store.latestRelease()?.number ?? 0) + 1
        try checkDiskSpace(experts: live.count)
        let tmp = config.releaseDirectory + "/.tmp-" + Self.directoryName(number)
        let final = config.releaseDirectory + "/" + Self.directoryName(number)
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let (anchor, blobs, k, releaseKey) = (self.anchor, self.blobs, config.expertsPerToken, config.releaseSigningKey)
        let recipe = config.policy.routerTuning
        let tuning: ReleaseFiles.Tuning = recipe.map { .tune(recipe: $0, keys: live.map(\.logIndex), publicTokens: tuningPublicTokens) } ?? .none
        let manifestBytes: [UInt8] = try await pool.run(.releases, ownWork: true) { [logKey] in
            let (files, perToken) = try ReleaseFiles.write(anchor: anchor, contributions: live.map {
                .init(organisation: $0.organisation, expertFile: blobs.path($0.expertSHA256), routingFile: blobs.path($0.routingSHA256))
            }, number: number, topK: k, tuning: tuning, to: tmp)
            let manifest = ReleaseManifest(
                release: number, createdAt: Timestamp.nowRFC3339(), logSize: logSize, anchorSHA256: anchor.digest,
                expertsPerToken: perToken,
                experts: live.map { .init(organisation: $0.organisation, contribution: $0.logIndex, statementSHA256: $0.statementSHA256,
                                          expertSHA256: $0.expertSHA256, routingSHA256: $0.routingSHA256) },
                files: files, routerTuning: files[ReleaseLayout.routerTuningFile] == nil ? nil : recipe)
            let bytes = manifest.signed(by: logKey)
            try AtomicFileWriter.write(bytes, to: tmp + "/" + ReleaseLayout.manifestFile)
            if let releaseKey {
                // Over every file, the manifest included; the model files' digests were taken as written.
                try ModelSigningSignature.sign(directory: tmp, name: Self.directoryName(number), key: releaseKey,
                                               knownDigests: files.merging([ReleaseLayout.manifestFile: Hex.encode(SHA256.digest(bytes))]) { a, _ in a })
            }
            return bytes
        }
        // Directory first (its entries and itself durable), then the log entry: a crash in between
        // leaves a directory `recover` removes.
        syncDirectory(of: tmp + "/" + ReleaseLayout.manifestFile)
        // A directory of this number without its log entry: an earlier attempt whose commit failed
        // (this replica holds the lease, so nobody else is writing it).
        if FileManager.default.fileExists(atPath: final), try await store.release(number) == nil { try FileManager.default.removeItem(atPath: final) }
        guard rename(tmp, final) == 0 else { throw FileSystemError.posix("rename", final, errno) }
        syncDirectory(of: final)
        _ = try await store.commitRelease(number: number, manifest: manifestBytes, logSize: logSize, leaseHolder: config.replica)
        current = try await load(number)
        let inRelease = Set(live.map(\.logIndex))
        withdrawn = withdrawn.filter { inRelease.contains($0) }
        pruneOldReleases(newest: number)
        return current
    }

    /// Refuses a release that would pass the disk budget, or the file system's free space, before a
    /// byte of it is written: a full disk would otherwise fail halfway through a 1.7 GB write.
    private func checkDiskSpace(experts: Int) throws {
        let need = ReleaseFiles.estimatedBytes(anchor: anchor, experts: experts)
        if let budget = config.releaseDiskBudget {
            let used = Self.bytes(under: config.releaseDirectory)
            guard used + need <= budget else {
                throw ServerError.insufficientStorage("a release of \(experts) experts needs about \(need >> 20) MiB; the releases already take \(used >> 20) MiB of the \(budget >> 20) MiB budget (--release-disk-budget; fewer kept releases, --keep-releases, free room)")
            }
        }
        var fs = statvfs()
        if statvfs(config.releaseDirectory, &fs) == 0 {
            let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
            guard free >= need + (64 << 20) else {
                throw ServerError.insufficientStorage("a release of \(experts) experts needs about \(need >> 20) MiB; \(config.releaseDirectory) has \(free >> 20) MiB free")
            }
        }
    }

    /// Bytes of the regular files under `dir`.
    static func bytes(under dir: String) -> UInt64 {
        var total: UInt64 = 0
        guard let e = FileManager.default.enumerator(atPath: dir) else { return 0 }
        while let rel = e.nextObject() as? String {
            var st = stat()
            if lstat(dir + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }

    /// Whether release `n`'s model files were pruned (its manifest stays).
    public func isPruned(_ n: Int) -> Bool {
        let dir = config.releaseDirectory + "/" + Self.directoryName(n)
        return FileManager.default.fileExists(atPath: dir + "/" + ReleaseLayout.manifestFile)
            && !FileManager.default.fileExists(atPath: dir + "/" + ModelFiles.weights)
    }

    /// Keeps the model files of the newest `keepReleases` releases; older ones keep their manifest.
    private func pruneOldReleases(newest: Int) {
        guard let keep = config.keepReleases, newest > keep else { return }
        for n in 1...(newest - keep) {
            let dir = config.releaseDirectory + "/" + Self.directoryName(n)
            for name in ReleaseLayout.prunedFiles {
                try? FileManager.default.removeItem(atPath: dir + "/" + name)
            }
        }
    }
}

/// A release in memory: its manifest, the combined model and the routing index.
public struct LoadedRelease: @unchecked Sendable {
    public let directory: String
    public let manifest: ReleaseManifest
    public let model: Model
    public let index: RoutingIndex
    /// Routes with the default temperature and top-k; built once per release.
    public let router: CentroidRouter
    /// The dense anchor, for embedding routing queries exactly as owners embedded their data.
    public let anchor: Model
}
