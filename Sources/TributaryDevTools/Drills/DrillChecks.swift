import Foundation
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// What a drill checks against a server it has just restarted, or at the end of a load run. Each
/// problem found goes into the ledger as a failure with a message that says where.
struct DrillChecks: Sendable {
    let client: TributaryClient
    let ledger: DrillLedger
    let deployment: SmallDeployment
    let logKey: VerifierKey
    let dataDirectory: String
    let scratch: String

    /// The checkpoint now, after every checkpoint handed out earlier was shown to be a prefix of it
    /// (same root at the same size, an RFC 9162 consistency proof otherwise). Returns how many distinct
    /// earlier checkpoints were checked.
    func consistency(with earlier: [TributaryLog.Checkpoint]) async throws -> (TributaryLog.Checkpoint, Int) {
        let now = try TributaryLog.Checkpoint.verify(note: try await client.checkpoint(), key: logKey)
        var roots = [UInt64: [UInt8]]()
        for c in earlier {
            if let r = roots[c.size], r != c.root {
                await ledger.fail("fork: two checkpoints of size \(c.size) with different roots were handed out")
            }
            roots[c.size] = c.root
        }
        for (size, root) in roots.sorted(by: { $0.key < $1.key }) {
            if size > now.size {
                await ledger.fail("rollback: a checkpoint of size \(size) was handed out, the log now has \(now.size) entries")
            } else if size == now.size {
                if root != now.root { await ledger.fail("fork: the checkpoint of size \(size) handed out earlier has another root than the log now") }
            } else {
                let proof = try await client.consistencyProof(first: size, second: now.size)
                if !ProofVerification.consistency(first: size, second: now.size, firstRoot: root, secondRoot: now.root, proof: proof) {
                    await ledger.fail("fork: no valid consistency proof from the checkpoint of size \(size) handed out earlier to size \(now.size)")
                }
            }
        }
        return (now, roots.count)
    }

    /// Finds a sent bundle on the server; when present, downloads its four files from the blob store
    /// and verifies them as a bundle signed by its organisation's key, and checks its inclusion proof.
    /// Returns nil when the server has no such contribution.
    func verifyStored(_ sent: SentBundle) async throws -> (index: UInt64, revoked: Bool, digests: [String])? {
        let record: ContributionAnswer
        do { record = try await client.contribution(statementSHA256: sent.statementSHA256) } catch let e as RemoteError where e.status == 404 {
            return nil
        }
        let index = record.logIndex, envelope = record.envelopeSHA256, statement = record.statementSHA256
        let expert = record.expertSHA256, routing = record.routingSHA256
        let dir = scratch + "/verify-" + sent.statementSHA256.prefix(16)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, sha) in [(BundleLayout.envelopeFile, envelope), (BundleLayout.statementFile, statement),
                            (BundleLayout.expertFile, expert), (BundleLayout.routingFile, routing)] {
            let got = try await client.download(APIPath.blob(sha), to: dir + "/" + name)
            if got != sha { await ledger.fail("blob \(sha) of contribution \(index) came back with digest \(got)") }
        }
        let key = deployment.organisations[sent.organisation]!.key.verifierKey
        do { _ = try ContributionBundle.verify(directory: dir, keys: [key]) } catch {
            await ledger.fail("contribution \(index) as stored does not verify: \(error)")
        }
        let inclusion = try await InclusionCheck.run(client: client, statement: sent.statement, logKey: logKey)
        if inclusion.logIndex != index { await ledger.fail("contribution \(sent.statementSHA256) is at \(inclusion.logIndex), its record says \(index)") }
        return (index, inclusion.revoked, [envelope, statement, expert, routing])
    }

    /// After a restart: every acknowledged contribution is stored and verifies at its index; a cut-off
    /// upload is wholly there (then verified) or wholly absent; every acknowledged opt-out is in force,
    /// and cut-off ones are settled from what the server now says. Counts go into `report`, the
    /// digests of stored contributions into `blobs`.
    func settle(cycle: Int, report: inout FaultDrillReport, blobs: inout Set<String>) async throws {
        for (sent, index) in await ledger.acknowledged {
            guard let stored = try await verifyStored(sent) else {
                await ledger.fail("cycle \(cycle): acknowledged contribution \(index) (\(sent.statementSHA256.prefix(12))…) is gone after the restart")
                continue
            }
            if stored.index != index { await ledger.fail("cycle \(cycle): contribution acknowledged at \(index) is now at \(stored.index)") }
            blobs.formUnion(stored.digests)
            report.uploadsAcknowledged += 1
            report.contributionsVerified += 1
        }
        for sent in await ledger.interrupted {
            report.uploadsCutOff += 1
            guard let stored = try await verifyStored(sent) else { continue }
            await ledger.discovered(stored.index, organisation: sent.organisation, revoked: stored.revoked)
            blobs.formUnion(stored.digests)
            report.uploadsCommittedUnacknowledged += 1
            report.contributionsVerified += 1
        }
        for index in await ledger.revocationsAcknowledged {
            report.revocationsAcknowledged += 1
            if try await client.contribution(index).revokedAt == nil { await ledger.fail("cycle \(cycle): acknowledged opt-out of \(index) is not in force after the restart") }
        }
        for index in await ledger.revocationsInterrupted {
            report.revocationsCutOff += 1
            let revoked = try await client.contribution(index).revokedAt != nil
            await ledger.settleRevocation(index, revoked: revoked)
            if revoked { report.revocationsCommittedUnacknowledged += 1 }
        }
    }

    /// Nothing half-written survives a restart: no staged upload, no unfinished release directory,
    /// and exactly the blobs of the logged contributions. With `sharedStore` (replicas: staging in
    /// tmp/REPLICA), blobs no contribution references are counted and returned, not failed: a replica
    /// killed between adopting an upload's blobs and committing it leaves them, and only a replica
    /// starting an hour later removes them (another replica's upload may be that far along).
    @discardableResult
    func storageIsTidy(expectedBlobs: Set<String>, sharedStore: Bool = false) async -> Int {
        let fm = FileManager.default
        var staged = [String]()
        for name in (try? fm.contentsOfDirectory(atPath: dataDirectory + "/tmp")) ?? [] {
            let inside = sharedStore ? (try? fm.contentsOfDirectory(atPath: dataDirectory + "/tmp/" + name)) ?? [] : [name]
            staged += inside
        }
        if !staged.isEmpty { await ledger.fail("\(staged.count) staged upload(s) left in tmp/ after the restart") }
        let releases = (try? fm.contentsOfDirectory(atPath: dataDirectory + "/releases")) ?? []
        // With replicas another one may be building a release right now.
        for name in releases where name.hasPrefix(".tmp-") && !sharedStore { await ledger.fail("unfinished release directory releases/\(name) after the restart") }
        var blobs = Set<String>()
        for prefix in (try? fm.contentsOfDirectory(atPath: dataDirectory + "/blobs")) ?? [] {
            for rest in (try? fm.contentsOfDirectory(atPath: dataDirectory + "/blobs/" + prefix)) ?? [] { blobs.insert(prefix + rest) }
        }
        let orphans = blobs.subtracting(expectedBlobs), missing = expectedBlobs.subtracting(blobs)
        if !orphans.isEmpty && !sharedStore { await ledger.fail("\(orphans.count) blob(s) no logged contribution references, e.g. \(orphans.first!)") }
        if !missing.isEmpty { await ledger.fail("\(missing.count) blob(s) of logged contributions missing, e.g. \(missing.first!)") }
        return orphans.count
    }

    /// `tributary audit` against the server, with state kept across calls (so a rollback between two
    /// audits is caught); its counts must match what the ledger knows.
    func audit(state: String) async throws -> AuditReport {
        let options = AuditOptions(logKey: logKey, operatorKey: deployment.operatorKey.verifierKey, stateDirectory: state)
        let report = try await Auditor(source: ServerLogSource(client: client), options: options).run()
        for f in report.findings { await ledger.fail("audit: [\(f.code)] " + (f.entry.map { "entry \($0): " } ?? "") + f.message) }
        let known = await ledger.contributions
        if report.passed && report.contributions != known.count {
            await ledger.fail("the log holds \(report.contributions) contributions, the drill knows of \(known.count)")
        }
        let revoked = known.values.filter(\.revoked).count
        if report.passed && report.revocations != revoked {
            await ledger.fail("the log holds \(report.revocations) opt-outs, the drill knows of \(revoked)")
        }
        return report
    }
}
