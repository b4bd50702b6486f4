import Foundation
import TributaryAPI
import TributaryCore
import TributaryLog
import TributaryModel

extension AggregationServer {
    /// Receives a bundle archive chunk by chunk into a private staging directory and commits it.
    /// The envelope comes first: once its last byte is in, its signature, signer and statement are
    /// checked (`ContributionVerifier.admit`) before another byte is read. Then the rest is staged,
    /// verified and committed: blobs first (content-addressed, atomic), then one transaction for the
    /// index rows, the log entry and the new checkpoint. Any failure leaves nothing behind. Bounded
    /// throughout: uploads at once (in all and per organisation), staged bytes, and a deadline for
    /// the whole upload however slowly it trickles. Until its envelope is checked an upload holds no
    /// upload slot, only a place among the pending ones (`UploadGate`), and `clock` cuts it at the
    /// envelope deadline, the whole-upload deadline or below the minimum pace (the route's watchdog
    /// shuts the connection's input; `clock` says why).
    public func submit<S: AsyncSequence>(archive chunks: S, clock: UploadClock? = nil) async throws -> ContributionReceipt where S.Element == [UInt8] {
        try await uploads.enter()
        let clock = clock ?? uploadClock()
        var organisation: String?
        var staged: UInt64 = 0
        let stage = config.tempDirectory + "/upload-" + Hex.encode(secureRandomBytes(8))
        do {
            defer { try? FileManager.default.removeItem(atPath: stage) }
            try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: false)
            let reader = BundleArchiveReader(directory: stage, limit: config.maxUploadBytes)
            var admitted: AdmittedUpload?
            do {
                for try await chunk in chunks {
                    if let why = clock.expired ?? clock.overdue() { throw why }
                    clock.received(chunk.count)
                    try await uploads.stage(UInt64(chunk.count))
                    staged += UInt64(chunk.count)
                    var offset = 0
                    while offset < chunk.count {
                        offset += try chunk.withUnsafeBytes { try reader.feed(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                        if reader.pausedAfterFirstEntry {
                            clock.envelopeArrived()
                            let bytes = try readSmallFile(stage + "/" + BundleArchiveReader.firstEntry, limit: DSSEEnvelope.maxEncodedSize)
                            let a = try await verifier.admit(envelope: bytes, store: store, now: now)
                            // Its log entry must fit an entry bundle: known now, before the bulk arrives
                            // (the digests are placeholders of the same length).
                            _ = try Self.entry(a, digests: Dictionary(uniqueKeysWithValues: BundleLayout.subjectFiles.map { ($0, String(repeating: "0", count: 64)) }))
                            try await uploads.admit(organisation: a.key.organisation)
                            organisation = a.key.organisation
                            clock.admitted()
                            admitted = a
                            reader.resume()
                        }
                    }
                }
            } catch {
                // The watchdog shut the input: the stream's end or error is its doing.
                if let why = clock.expired { throw why }
                throw error
            }
            if let why = clock.expired { throw why }
            clock.bodyComplete()
            try reader.finish()
            guard let admitted else { throw ArchiveError.missingFile(BundleArchiveReader.firstEntry) }
            let upload = try await verifier.verify(stage: stage, admitted: admitted, store: store, pool: pool)
            let accepted = try await commit(upload, stage: stage)
            await uploads.leave(organisation: organisation, stagedBytes: staged)
            return accepted
        } catch {
            await uploads.leave(organisation: organisation, stagedBytes: staged)
            metrics.refused(code: (error as? CodedError)?.code ?? "internal")
            throw error
        }
    }

    /// A clock with this server's upload deadlines.
    public func uploadClock() -> UploadClock {
        UploadClock(envelopeSeconds: min(config.envelopeDeadlineSeconds, Double(config.uploadDeadlineSeconds)), totalSeconds: Double(config.uploadDeadlineSeconds),
                    minBytesPerSecond: Double(config.minUploadBytesPerSecond))
    }

    func commit(_ upload: VerifiedUpload, stage: String) async throws -> ContributionReceipt {
        let b = upload.bundle, a = upload.admitted
        let entry = try Self.entry(a, digests: b.digests)
        let envelopeSHA = Hex.encode(SHA256.digest(a.envelopeBytes))
        // Hashed by the verifier a moment ago, in a staging directory only this request writes to.
        for name in BundleLayout.subjectFiles {
            guard let sha = b.digests[name] else { throw BundleError.missingFile(name) }
            try blobs.adopt(file: stage + "/" + name, sha256: sha, verified: true)
        }
        try blobs.adopt(file: stage + "/" + BundleLayout.envelopeFile, sha256: envelopeSHA)
        try blobs.adopt(file: stage + "/" + BundleLayout.statementFile, sha256: a.statementSHA256)
        let record = ContributionRecord(
            logIndex: 0, organisation: a.key.organisation, keyID: a.key.keyID, verifierKey: a.key.verifierKey.encoded,
            statementSHA256: a.statementSHA256, envelopeSHA256: envelopeSHA, expertSHA256: b.digests[BundleLayout.expertFile] ?? "",
            routingSHA256: b.digests[BundleLayout.routingFile] ?? "", nonce: a.predicate.nonce,
            privacy: JSONWriter.string(a.predicate.routing.privacy.json), epsilon: a.predicate.spentEpsilon ?? 0,
            revokedAt: nil, takenDownAt: nil)
        let r = await witnessed(try await store.commitContribution(record, entry: entry, policy: config.policy))
        metrics.accepted.increment()
        metrics.logSize.record(Int64(r.size))
        logger.info("contribution accepted", metadata: ["organisation": "\(record.organisation)", "log_index": "\(r.index)",
                                                        "probe_bpb": "\(upload.probeBitsPerByte)"])
        scheduleRelease()
        return ContributionReceipt(logIndex: r.index, leafHash: entry.leafHash, statementSHA256: a.statementSHA256, treeSize: r.size,
                                   checkpoint: r.checkpoint, inclusionProof: r.proof)
    }

    /// The contribution's log entry, refused when it is too long for an entry bundle (tlog-tiles).
    static func entry(_ a: AdmittedUpload, digests: [String: String]) throws -> LogEntry {
        let entry = LogEntry.contribution(organisation: a.key.organisation, keyID: a.key.keyID, time: Timestamp.nowRFC3339(),
                                          envelope: a.envelopeBytes, files: digests)
        try Tiles.checkEntrySize(entry.bytes)
        return entry
    }

    /// An owner withdraws its contribution (opt-out): a signed request by the contribution's
    /// organisation, naming it. Logged; routing stops naming the expert at once, and the next release
    /// excludes it.
    public func revokeContribution(_ index: UInt64, request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        guard let c = try await store.contribution(index) else { throw ServerError.notFound("no contribution at log index \(index)") }
        guard case let .revokeContribution(asked) = try req.action(.revokeContribution), asked == index else {
            throw RequestError.malformed("parameters.contribution must be \(index)")
        }
        let key = try await requestKey(req, envelope: envelope)
        guard key.organisation.sameBytes(c.organisation) else {
            throw RequestError.forbidden("\(key.organisation) cannot revoke a contribution of \(c.organisation)")
        }
        try req.check(envelope: envelope, key: key.verifierKey, now: now, origin: config.origin, action: .revokeContribution)
        let r = try await store.revokeContribution(c, request: bytes, nonce: req.nonce)
        logger.info("contribution revoked", metadata: ["log_index": "\(index)", "organisation": "\(c.organisation)"])
        metrics.logSize.record(Int64(r.size))
        await dropFromRouting([index])
        scheduleRelease()
        return r
    }

    /// The enrolled live key a signed request names and is signed by (several keys may share a key ID).
    func requestKey(_ req: SignedRequest, envelope: DSSEEnvelope) async throws -> EnrolledKey {
        let key: EnrolledKey
        switch SignerMatch(try await store.keys(organisation: req.organisation, keyID: req.keyID), envelope: envelope,
                           verifierKey: \.verifierKey, isLive: \.isLive) {
        case .notEnrolled: throw RequestError.unknownKey("\(req.organisation)+\(req.keyID)")
        case .noneVerifies: throw RequestError.badSignature
        case let .notLive(k): throw RequestError.keyRevoked(k.keyID)
        case let .live(k): key = k
        }
        if try await store.nonceUsed(req.nonce) { throw RequestError.replayed }
        return key
    }
}
