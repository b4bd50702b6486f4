import Foundation
import TributaryCore
import TributaryLog
import TributaryModel

/// What the server answers an accepted contribution with.
public struct AcceptedContribution: Sendable {
    public let logIndex: UInt64
    public let leafHash: [UInt8]
    public let checkpoint: String
    public let treeSize: UInt64
    public let inclusionProof: [[UInt8]]
    public let statementSHA256: String
}

extension AggregationServer {
    /// Receives a bundle archive chunk by chunk into a private staging directory, verifies it, and
    /// commits it: blobs first (content-addressed, atomic), then one transaction for the index rows,
    /// the log entry and the new checkpoint. Any failure leaves nothing behind.
    public func submit<S: AsyncSequence>(archive chunks: S) async throws -> AcceptedContribution where S.Element == [UInt8] {
        let stage = config.tempDirectory + "/upload-" + Hex.encode(secureRandomBytes(8))
        try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: stage) }
        do {
            let reader = BundleArchiveReader(directory: stage, limit: config.maxUploadBytes)
            for try await chunk in chunks { try reader.feed(chunk) }
            try reader.finish()
            let upload = try await verifier.verify(stage: stage, store: store)
            return try await commit(upload, stage: stage)
        } catch {
            metrics.refused(code: (error as? CodedError)?.code ?? "internal")
            throw error
        }
    }

    func commit(_ upload: VerifiedUpload, stage: String) async throws -> AcceptedContribution {
        let b = upload.bundle
        let envelopeSHA = Hex.encode(SHA256.digest(upload.envelopeBytes))
        // Hashed by the verifier a moment ago, in a staging directory only this request writes to.
        for name in BundleLayout.subjectFiles { try blobs.adopt(file: stage + "/" + name, sha256: b.digests[name]!, verified: true) }
        try blobs.adopt(file: stage + "/" + BundleLayout.envelopeFile, sha256: envelopeSHA)
        try blobs.adopt(file: stage + "/" + BundleLayout.statementFile, sha256: upload.statementSHA256)
        let record = ContributionRecord(
            logIndex: 0, organisation: upload.key.organisation, keyID: upload.key.keyID, statementSHA256: upload.statementSHA256,
            envelopeSHA256: envelopeSHA, expertSHA256: b.digests[BundleLayout.expertFile]!, routingSHA256: b.digests[BundleLayout.routingFile]!,
            nonce: b.predicate.nonce, privacy: JSONWriter.string(b.predicate.routing.privacy.json), revokedAt: nil)
        let entry = LogEntry.contribution(organisation: record.organisation, keyID: record.keyID, time: Timestamp.nowRFC3339(),
                                          envelope: upload.envelopeBytes, files: b.digests)
        let r = try await store.commitContribution(record, entry: entry)
        metrics.accepted.increment()
        metrics.logSize.record(Int64(r.size))
        logger.info("contribution accepted", metadata: ["organisation": "\(record.organisation)", "log_index": "\(r.index)",
                                                        "probe_bpb": "\(upload.probeBitsPerByte)"])
        scheduleRelease()
        return AcceptedContribution(logIndex: r.index, leafHash: entry.leafHash, checkpoint: r.checkpoint, treeSize: r.size,
                                    inclusionProof: r.proof, statementSHA256: upload.statementSHA256)
    }

    /// An owner withdraws its contribution (opt-out): a signed request by the contribution's
    /// organisation, naming it. Logged; the next release excludes the expert.
    public func revokeContribution(_ index: UInt64, request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        guard let c = try await store.contribution(index) else { throw ServerError.notFound("no contribution at log index \(index)") }
        guard case let .number(t)? = req.parameters["contribution"], UInt64(t) == index else {
            throw RequestError.malformed("parameters.contribution must be \(index)")
        }
        let key = try await requestKey(req)
        guard key.organisation == c.organisation else {
            throw RequestError.forbidden("\(key.organisation) cannot revoke a contribution of \(c.organisation)")
        }
        try req.check(envelope: envelope, key: key.verifierKey, now: Int64(Date().timeIntervalSince1970), expectedAction: "revoke-contribution")
        let r = try await store.revokeContribution(c, request: bytes, nonce: req.nonce)
        logger.info("contribution revoked", metadata: ["log_index": "\(index)", "organisation": "\(c.organisation)"])
        metrics.logSize.record(Int64(r.size))
        scheduleRelease()
        return r
    }

    /// The enrolled, unrevoked key a signed request names.
    func requestKey(_ req: SignedRequest) async throws -> KeyRecord {
        guard let key = try await store.key(id: req.keyID), key.organisation == req.organisation else {
            throw RequestError.unknownKey("\(req.organisation)+\(req.keyID)")
        }
        guard key.revokedAt == nil else { throw RequestError.keyRevoked(key.keyID) }
        if try await store.nonceUsed(req.nonce) { throw RequestError.replayed }
        return key
    }
}
