import Foundation
import TributaryCore
import TributaryLog

public struct AuditOptions: Sendable {
    /// The log's verifier key, pinned out of band: everything hangs on it.
    public var logKey: VerifierKey
    /// The operator's key, when known: enrolments and operator revocations are checked against it.
    public var operatorKey: VerifierKey?
    /// Where this auditor keeps the last checkpoint it verified (and the entries up to it).
    public var stateDirectory: String
    /// Verify every release bit for bit, not only the latest.
    public var allReleases = false
    /// Witnesses whose cosignatures the checkpoint must carry (a quorum of them): without it, a log
    /// can show this auditor a history nobody else sees.
    public var witnessPolicy: WitnessPolicy?
    /// New entries one audit reads at most (they are held in memory): a checkpoint claiming more is
    /// refused rather than fetched until memory runs out. Raise it for a log that grew that much.
    public var maxNewEntries: UInt64 = 1_000_000
    /// Rebuilds releases the server pruned and checks them like the others (`--rebuild-pruned`).
    public var rebuild: ReleaseRebuild?
    /// Replays tuned releases' router tuning (nil: `--skip-router-replay`, reported as such).
    public var tuningReplay: RouterTuningReplay?
    /// The operator's release key for OpenSSF model signing, pinned out of band: every release must then
    /// carry a `model.sig` under it over exactly its logged files (`--model-signing-key`).
    public var modelSigningKey: P256PublicKey?

    public init(logKey: VerifierKey, operatorKey: VerifierKey? = nil, stateDirectory: String) {
        self.logKey = logKey
        self.operatorKey = operatorKey
        self.stateDirectory = stateDirectory
    }
}

/// `tributary audit`: from public material alone, check that the log only grew (against this
/// auditor's last checkpoint), that its entries produce the signed root, that every contribution was
/// signed by a key enrolled and unrevoked at that point, that every revocation was signed by its
/// owner, and that releases contain exactly the logged, unrevoked experts, bit for bit.
public struct Auditor: Sendable {
    public let source: LogSource
    public let options: AuditOptions

    public init(source: LogSource, options: AuditOptions) {
        self.source = source
        self.options = options
    }

    public func run() async throws -> AuditReport {
        var report = AuditReport()
        report.source = source.description
        // 1. The checkpoint, signed by the pinned key.
        let note = try await source.checkpoint()
        let cp: Checkpoint
        do { cp = try Checkpoint.verify(note: note, key: options.logKey) } catch {
            report.fail("audit.bad_checkpoint", "the checkpoint does not verify under \(options.logKey.name)+\(options.logKey.keyIDHex): \(error)")
            return report
        }
        report.checkpointSize = cp.size
        report.check("checkpoint of size \(cp.size) signed by \(options.logKey.name) (key \(options.logKey.keyIDHex))")
        if let policy = options.witnessPolicy {
            do {
                let (cosigners, time) = try policy.check(try SignedNote.parse(note))
                let age = Int64(Date().timeIntervalSince1970) - Int64(time)
                report.checkpointAgeSeconds = age
                report.check("cosigned by \(cosigners.count) witness(es) of the \(policy.quorum) required (\(cosigners.joined(separator: ", "))); the checkpoint is \(age) s old (time \(time), the \(policy.quorum)th newest cosignature)")
            } catch {
                report.fail("audit.unwitnessed", "the checkpoint does not meet the witness policy: \((error as? CodedError)?.message ?? "\(error)"); it may be a view shown to this auditor only")
                return report
            }
        }
        // 2. Consistency with what this auditor saw before.
        var state = try AuditState.load(options.stateDirectory) ?? AuditState(directory: options.stateDirectory)
        let previous = state.size > 0 || FileManager.default.fileExists(atPath: options.stateDirectory + "/state.json") ? state.size : nil
        report.previousSize = previous
        if let prev = previous {
            if cp.size < prev {
                report.fail("audit.rollback", "the log now shows \(cp.size) entries, fewer than the \(prev) this auditor verified before: it was rolled back")
                return report
            }
            if cp.size == prev && cp.root != state.root {
                report.fail("audit.fork", "the log shows a different root for the same size \(prev) this auditor verified before: the log was forked")
                return report
            }
            if cp.size > prev, let proof = try await source.consistencyProof(first: prev, second: cp.size) {
                guard ProofVerification.consistency(first: prev, second: cp.size, firstRoot: state.root, secondRoot: cp.root, proof: proof) else {
                    report.fail("audit.fork", "the server's consistency proof from size \(prev) to \(cp.size) does not verify: the log was forked or rewritten")
                    return report
                }
                report.check("consistent with the checkpoint of size \(prev) verified before (RFC 9162 consistency proof)")
            }
        }
        // 3. New entries, and the root they produce.
        if cp.size > state.size && cp.size - state.size > options.maxNewEntries {
            report.fail("audit.too_many_entries", "the checkpoint claims \(cp.size - state.size) new entries, more than this audit reads (\(options.maxNewEntries); --max-new-entries)")
            return report
        }
        let fresh = cp.size > state.size ? try await source.entries(start: state.size, end: cp.size) : []
        report.newEntries = UInt64(fresh.count)
        let all = state.entries + fresh
        // One pass, O(log n) memory: the root where the saved state ends and the root of them all.
        var range = CompactRange()
        var rootAtState: [UInt8]? = state.size == 0 ? MerkleHash.emptyRoot : nil
        for e in all {
            range.append(MerkleHash.leaf(e))
            if range.size == state.size { rootAtState = range.root }
        }
        if previous != nil && rootAtState != state.root {
            report.fail("audit.state_corrupt", "this auditor's saved entries no longer match its saved checkpoint")
            return report
        }
        guard range.root == cp.root else {
            report.fail("audit.entries_mismatch", "the \(all.count) entries do not produce the signed root: entries were altered, inserted or dropped")
            return report
        }
        report.check("recomputed the Merkle root over all \(all.count) entries: it matches the signed checkpoint")
        // The log itself checks out: remember it, whatever the entries say.
        state.size = cp.size
        state.root = cp.root
        state.note = String(decoding: note, as: UTF8.self)
        state.entries = all
        try state.save()
        // 4. Replay every entry.
        var replay = LogReplay(logKey: options.logKey, operatorKey: options.operatorKey)
        for (i, e) in all.enumerated() { replay.apply(e, at: UInt64(i), report: &report) }
        report.check("replayed \(all.count) entries: \(report.policies) policies, \(report.enrolments) enrolments, \(report.rotations) key rotations, \(report.keyRevocations) key revocations, \(report.contributions) contributions (each signed by a key enrolled and live at that point, within the policy in force), \(report.revocations) opt-outs, \(report.takedowns) takedowns, \(report.releases) releases")
        if options.operatorKey == nil { report.check("operator key not given: operator requests (enrolments, rotations, takedowns) were not checked against it") }
        // 5. Every release's manifest against the log; the latest (or every one) bit for bit.
        let numbers = replay.releases.keys.sorted()
        let deep = Set(options.allReleases ? numbers : Array(numbers.suffix(1)))
        let work = NSTemporaryDirectory() + "tributary-audit-" + Hex.encode(secureRandomBytes(6))
        defer { try? FileManager.default.removeItem(atPath: work) }
        let verifier = ReleaseVerifier(source: source, work: work, rebuild: options.rebuild, tuningReplay: options.tuningReplay)
        for n in numbers {
            guard let r = replay.releases[n], let manifest = await verifier.manifest(n, r, logKey: options.logKey, report: &report) else { continue }
            replay.checkMembership(manifest, of: r, report: &report)
            if let key = options.modelSigningKey {
                await verifier.checkModelSignature(manifest, r, key: key, report: &report)
            }
            if deep.contains(n) {
                await verifier.verify(manifest, policies: replay.contributions.compactMapValues(\.policy), report: &report)
            }
        }
        if numbers.isEmpty { report.check("no release published yet") } else {
            report.check("checked the membership of \(numbers.count) release manifest(s) against the log")
            if options.modelSigningKey != nil { report.check("checked each release's OpenSSF model signature (model.sig) under the pinned release key, over exactly its manifest and the files the manifest names") }
        }
        return report
    }
}
