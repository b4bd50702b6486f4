import Foundation
import TributaryCore
import TributaryLog

/// Replays every log entry in order, re-verifying each against the state before it: who was enrolled,
/// which contributions are live, what every release must contain.
struct LogReplay {
    struct Key { let key: VerifierKey; let enrolledAt: UInt64; var revokedAt: UInt64? }
    struct Contribution {
        let index: UInt64, organisation: String, keyID: String
        let statementSHA256: String, expertSHA256: String, routingSHA256: String
        let anchorSHA256: String
        var revokedAt: UInt64?
    }
    struct Release { let index: UInt64; let manifest: ReleaseManifest; let envelope: [UInt8] }

    let logKey: VerifierKey
    let operatorKey: VerifierKey?
    var keys = [String: Key]()
    var contributions = [UInt64: Contribution]()
    var releases = [Int: Release]()
    var seenStatements = Set<String>(), seenExperts = Set<String>(), seenNonces = Set<String>(), seenRequestNonces = Set<String>()
    var anchor: String?

    init(logKey: VerifierKey, operatorKey: VerifierKey?) {
        self.logKey = logKey
        self.operatorKey = operatorKey
    }

    /// Contributions accepted among the first `size` entries and not revoked by then, in log order.
    func live(asOf size: UInt64) -> [Contribution] {
        contributions.values.filter { $0.index < size && ($0.revokedAt.map { $0 >= size } ?? true) }.sorted { $0.index < $1.index }
    }

    mutating func apply(_ bytes: [UInt8], at index: UInt64, report: inout AuditReport) {
        let entry: LogEntry
        do { entry = try LogEntry.parse(bytes) } catch {
            report.fail("audit.bad_entry", "\(error)", entry: index)
            return
        }
        switch entry {
        case let .enrolment(org, vk, _, request): enrol(org, vk, request, index, &report)
        case let .keyRevocation(org, keyID, _, request): revokeKey(org, keyID, request, index, &report)
        case let .contribution(org, keyID, _, envelope, files): contribute(org, keyID, envelope, files, index, &report)
        case let .contributionRevocation(c, org, _, request): revokeContribution(c, org, request, index, &report)
        case let .release(n, _, manifest): release(n, manifest, index, &report)
        }
    }

    mutating func enrol(_ org: String, _ text: String, _ request: [UInt8]?, _ index: UInt64, _ report: inout AuditReport) {
        report.enrolments += 1
        guard let key = try? VerifierKey(parsing: text), key.name == org else {
            return report.fail("audit.bad_enrolment", "enrolment of \(org) carries an invalid key or one named otherwise", entry: index)
        }
        if keys[key.keyIDHex] != nil { return report.fail("audit.duplicate_enrolment", "key \(key.keyIDHex) enrolled twice", entry: index) }
        if let request, let op = operatorKey {
            do {
                let (env, req) = try SignedRequest.parse(request)
                guard env.isSigned(by: op), req.action == "enrol", req.parameters["verifierKey"] == .string(text) else {
                    throw RequestError.badSignature
                }
                if !seenRequestNonces.insert(req.nonce).inserted { throw RequestError.replayed }
            } catch {
                return report.fail("audit.bad_request", "enrolment of \(org) is not signed by the operator key: \(error)", entry: index)
            }
        }
        keys[key.keyIDHex] = Key(key: key, enrolledAt: index, revokedAt: nil)
    }

    mutating func revokeKey(_ org: String, _ keyID: String, _ request: [UInt8]?, _ index: UInt64, _ report: inout AuditReport) {
        report.keyRevocations += 1
        guard var k = keys[keyID], k.key.name == org else { return report.fail("audit.unknown_key", "revocation of key \(keyID) that is not enrolled", entry: index) }
        guard k.revokedAt == nil else { return report.fail("audit.duplicate_revocation", "key \(keyID) revoked twice", entry: index) }
        if let request {
            do {
                let (env, req) = try SignedRequest.parse(request)
                guard req.action == "revoke-key", req.parameters["keyID"] == .string(keyID) else { throw RequestError.wrongAction(expected: "revoke-key", got: req.action) }
                // Signed by an enrolled, unrevoked key of the same organisation, or by the operator.
                // Without the operator's key pinned, an operator revocation cannot be checked here.
                let byOwner = keys[req.keyID].map { $0.key.name == org && $0.revokedAt == nil && env.isSigned(by: $0.key) } ?? false
                let byOperator = operatorKey.map { env.isSigned(by: $0) } ?? false
                let unverifiableOperator = operatorKey == nil && keys[req.keyID] == nil
                guard byOwner || byOperator || unverifiableOperator else { throw RequestError.badSignature }
                if !seenRequestNonces.insert(req.nonce).inserted { throw RequestError.replayed }
            } catch {
                return report.fail("audit.bad_request", "revocation of key \(keyID) is not properly signed: \(error)", entry: index)
            }
        }
        k.revokedAt = index
        keys[keyID] = k
    }

    mutating func contribute(_ org: String, _ keyID: String, _ envelopeBytes: [UInt8], _ files: [String: String], _ index: UInt64,
                             _ report: inout AuditReport) {
        report.contributions += 1
        guard let k = keys[keyID], k.key.name == org else {
            return report.fail("audit.unenrolled_signer", "contribution by \(org) names key \(keyID), which is not enrolled at this point", entry: index)
        }
        guard k.revokedAt == nil else { return report.fail("audit.revoked_signer", "contribution signed by key \(keyID), revoked at entry \(k.revokedAt!)", entry: index) }
        do {
            let envelope = try DSSEEnvelope.parse(envelopeBytes)
            _ = try ContributionBundle.verifySignature(envelope, keys: [k.key])
            let (statement, predicate) = try ContributionBundle.parseStatement(envelope.payload, signer: k.key)
            for s in statement.subjects where files[s.name] != s.sha256 {
                throw TributaryError("audit.file_mismatch", "\(s.name): the entry says \(files[s.name] ?? "nothing"), the signed statement \(s.sha256)")
            }
            let statementSHA = Hex.encode(SHA256.digest(envelope.payload))
            guard seenStatements.insert(statementSHA).inserted, seenExperts.insert(files[BundleLayout.expertFile]!).inserted,
                  seenNonces.insert(predicate.nonce).inserted else {
                throw TributaryError("audit.duplicate", "statement, expert or nonce seen before")
            }
            if let a = anchor, a != predicate.anchorSHA256 {
                throw TributaryError("audit.anchor_mismatch", "trained against anchor \(predicate.anchorSHA256.prefix(16))…, the log's anchor is \(a.prefix(16))…")
            }
            anchor = anchor ?? predicate.anchorSHA256
            contributions[index] = Contribution(index: index, organisation: org, keyID: keyID, statementSHA256: statementSHA,
                                                expertSHA256: files[BundleLayout.expertFile]!, routingSHA256: files[BundleLayout.routingFile]!,
                                                anchorSHA256: predicate.anchorSHA256, revokedAt: nil)
        } catch let e as CodedError {
            report.fail(e.code.hasPrefix("audit.") ? e.code : "audit.bad_contribution", "contribution by \(org): \(e.message)", entry: index)
        } catch {
            report.fail("audit.bad_contribution", "contribution by \(org): \(error)", entry: index)
        }
    }

    mutating func revokeContribution(_ c: UInt64, _ org: String, _ request: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.revocations += 1
        guard var contribution = contributions[c], contribution.organisation == org else {
            return report.fail("audit.unknown_contribution", "revocation of \(c), which is not a contribution of \(org)", entry: index)
        }
        guard contribution.revokedAt == nil else { return report.fail("audit.duplicate_revocation", "contribution \(c) revoked twice", entry: index) }
        do {
            let (env, req) = try SignedRequest.parse(request)
            guard let k = keys[req.keyID], k.key.name == org, k.revokedAt == nil, env.isSigned(by: k.key),
                  req.action == "revoke-contribution", req.parameters["contribution"] == .uint64(c) else { throw RequestError.badSignature }
            guard seenRequestNonces.insert(req.nonce).inserted else { throw RequestError.replayed }
        } catch {
            return report.fail("audit.bad_request", "revocation of contribution \(c) is not signed by an enrolled key of \(org): \(error)", entry: index)
        }
        contribution.revokedAt = index
        contributions[c] = contribution
    }

    mutating func release(_ n: Int, _ envelope: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.releases += 1
        let manifest: ReleaseManifest
        do { manifest = try ReleaseManifest.verify(envelope, key: logKey) } catch {
            return report.fail("audit.bad_release", "release \(n): \(error)", entry: index)
        }
        guard manifest.release == n, n == (releases.keys.max() ?? 0) + 1 else {
            return report.fail("audit.release_order", "release \(n) (manifest says \(manifest.release)) is out of sequence", entry: index)
        }
        releases[n] = Release(index: index, manifest: manifest, envelope: envelope)
        guard manifest.logSize <= index else {
            return report.fail("audit.release_future", "release \(n) claims to reflect \(manifest.logSize) entries but is entry \(index)", entry: index)
        }
        if let a = anchor, a != manifest.anchorSHA256 { report.fail("audit.anchor_mismatch", "release \(n) is built on another anchor", entry: index) }
        let expected = live(asOf: manifest.logSize)
        let got = manifest.experts
        let expectedIndices = expected.map(\.index), gotIndices = got.map(\.contribution)
        for c in expected where !gotIndices.contains(c.index) {
            report.fail("audit.release_omits", "release \(n) omits contribution \(c.index) of \(c.organisation), accepted and not revoked", entry: index)
        }
        for e in got where !expectedIndices.contains(e.contribution) {
            if let c = contributions[e.contribution], let r = c.revokedAt, r < manifest.logSize {
                report.fail("audit.release_includes_revoked", "release \(n) includes contribution \(e.contribution) of \(e.organisation), revoked at entry \(r)", entry: index)
            } else {
                report.fail("audit.release_includes_unknown", "release \(n) includes \(e.contribution), which is not an accepted contribution", entry: index)
            }
        }
        if Set(expectedIndices) == Set(gotIndices) && expectedIndices != gotIndices {
            report.fail("audit.release_order", "release \(n) lists its experts out of log order", entry: index)
        }
        for e in got {
            guard let c = contributions[e.contribution] else { continue }
            if c.statementSHA256 != e.statementSHA256 || c.expertSHA256 != e.expertSHA256 || c.routingSHA256 != e.routingSHA256 || c.organisation != e.organisation {
                report.fail("audit.release_digest_mismatch", "release \(n) describes contribution \(e.contribution) with other digests than the log", entry: index)
            }
        }
    }
}
