import Foundation
import TributaryCore
import TributaryLog

/// Contributions, opt-outs, takedowns and releases, replayed.
extension LogReplay {
    mutating func contribute(_ org: String, _ keyID: String, _ time: String, _ envelopeBytes: [UInt8], _ files: [String: String],
                             _ index: UInt64, _ report: inout AuditReport) {
        report.contributions += 1
        do {
            let envelope = try DSSEEnvelope.parse(envelopeBytes)
            let key: VerifierKey
            switch SignerMatch(keys(org, keyID).map { keys[$0] }, envelope: envelope, verifierKey: \.key, isLive: \.isLive) {
            case .notEnrolled: throw TributaryError("audit.unenrolled_signer", "names key \(keyID), which is not enrolled at this point")
            case .noneVerifies: throw TributaryError("audit.bad_contribution", "no signature verifies under \(org)'s key \(keyID)")
            case let .notLive(k): throw TributaryError("audit.revoked_signer", "signed by key \(keyID), revoked or replaced at entry \(k.revokedAt ?? k.retiredAt ?? 0)")
            case let .live(k): key = k.key
            }
            _ = try ContributionBundle.verifySignature(envelope, keys: [key])
            let (statement, predicate) = try ContributionBundle.parseStatement(envelope.payload, signer: key)
            for s in statement.subjects where files[s.name] != s.sha256 {
                throw TributaryError("audit.file_mismatch", "\(s.name): the entry says \(files[s.name] ?? "nothing"), the signed statement \(s.sha256)")
            }
            guard predicate.origin.sameBytes(origin) else {
                throw TributaryError("audit.wrong_origin", "the statement is for \(predicate.origin.debugDescription), not this log")
            }
            // The policy in force when it was accepted, with the entry's time as "now".
            if let doc = policy {
                guard predicate.anchorSHA256 == doc.anchorSHA256 else {
                    throw TributaryError("audit.anchor_mismatch", "trained against anchor \(predicate.anchorSHA256.prefix(16))…, the policy's is \(doc.anchorSHA256.prefix(16))…")
                }
                // The anchor's layer count as the statement declares it (the server checked it against the
                // anchor; the release check compares every tensor's shape with the anchor's).
                do {
                    try doc.policy.check(predicate, anchorLayers: predicate.routing.layers, now: Timestamp.parseRFC3339(time) ?? 0,
                                         epsilonSpent: epsilonSpent[org, default: 0])
                } catch {
                    throw TributaryError("audit.policy_violation", "accepted against the policy in force: \(error)")
                }
            }
            let statementSHA = Hex.encode(SHA256.digest(envelope.payload))
            let expertSHA = files[BundleLayout.expertFile] ?? "", routingSHA = files[BundleLayout.routingFile] ?? ""
            guard seenStatements.insert(statementSHA).inserted, seenExperts.insert(expertSHA).inserted, seenNonces.insert(predicate.nonce).inserted else {
                throw TributaryError("audit.duplicate", "statement, expert or nonce seen before")
            }
            epsilonSpent[org, default: 0] += predicate.spentEpsilon ?? 0
            contributions[index] = Contribution(index: index, organisation: org, verifierKey: key.encoded, statementSHA256: statementSHA,
                                                expertSHA256: expertSHA, routingSHA256: routingSHA, anchorSHA256: predicate.anchorSHA256,
                                                policy: policy?.policy)
        } catch let e as CodedError {
            report.fail(e.code.hasPrefix("audit.") ? e.code : "audit.bad_contribution", "contribution by \(org): \(e.message)", entry: index)
        } catch {
            report.fail("audit.bad_contribution", "contribution by \(org): \(error)", entry: index)
        }
    }

    mutating func revokeContribution(_ c: UInt64, _ org: String, _ request: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.revocations += 1
        guard let contribution = contributions[c], contribution.organisation.sameBytes(org) else {
            return report.fail("audit.unknown_contribution", "revocation of \(c), which is not a contribution of \(org)", entry: index)
        }
        guard contribution.revokedAt == nil else { return report.fail("audit.duplicate_revocation", "contribution \(c) revoked twice", entry: index) }
        do {
            _ = try checkRequest(request, expected: .revokeContribution(contribution: c), signers: keys.filter { $0.key.name.sameBytes(org) && $0.isLive }.map(\.key))
        } catch {
            return report.fail("audit.bad_request", "revocation of contribution \(c) is not signed by a live key of \(org): \(error)", entry: index)
        }
        contributions[c]?.revokedAt = index
    }

    mutating func takeDown(_ c: UInt64, _ reason: String, _ request: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.takedowns += 1
        guard let contribution = contributions[c] else {
            return report.fail("audit.unknown_contribution", "takedown of \(c), which is not a contribution", entry: index)
        }
        guard contribution.takenDownAt == nil else { return report.fail("audit.duplicate_revocation", "contribution \(c) taken down twice", entry: index) }
        if operatorKey == nil {
            report.check("takedown of contribution \(c) at entry \(index) (reason: \(reason)) is signed by a key this audit cannot check (pin --operator-key)")
        } else {
            guard checkOperatorRequest(request, expected: .takedown(contribution: c, reason: reason), what: "takedown of contribution \(c)", index, &report) else {
                return
            }
        }
        contributions[c]?.takenDownAt = index
    }

    mutating func release(_ n: Int, _ manifestSHA256: String, _ index: UInt64, _ report: inout AuditReport) {
        report.releases += 1
        guard n == (releases.keys.max() ?? 0) + 1 else {
            return report.fail("audit.release_order", "release \(n) is out of sequence", entry: index)
        }
        releases[n] = Release(index: index, manifestSHA256: manifestSHA256)
    }

    /// A release's manifest (fetched, its digest checked against the entry) against the replayed log:
    /// exactly the live contributions as of its `logSize`, in log order, with the logged digests.
    func checkMembership(_ manifest: ReleaseManifest, of release: Release, report: inout AuditReport) {
        let n = manifest.release, index = release.index
        guard manifest.logSize <= index else {
            return report.fail("audit.release_future", "release \(n) claims to reflect \(manifest.logSize) entries but is entry \(index)", entry: index)
        }
        if let p = policy, p.anchorSHA256 != manifest.anchorSHA256 {
            report.fail("audit.anchor_mismatch", "release \(n) is built on another anchor", entry: index)
        }
        let expected = live(asOf: manifest.logSize).map(\.index), got = manifest.experts.map(\.contribution)
        for c in expected where !got.contains(c) {
            report.fail("audit.release_omits", "release \(n) omits contribution \(c) of \(contributions[c]?.organisation ?? "?"), accepted and live", entry: index)
        }
        for e in manifest.experts where !expected.contains(e.contribution) {
            if let c = contributions[e.contribution], let r = c.revokedAt ?? c.takenDownAt, r < manifest.logSize {
                report.fail("audit.release_includes_revoked", "release \(n) includes contribution \(e.contribution) of \(e.organisation), withdrawn or taken down at entry \(r)", entry: index)
            } else {
                report.fail("audit.release_includes_unknown", "release \(n) includes \(e.contribution), which is not an accepted contribution", entry: index)
            }
        }
        if Set(expected) == Set(got) && expected != got {
            report.fail("audit.release_order", "release \(n) lists its experts out of log order", entry: index)
        }
        for e in manifest.experts {
            guard let c = contributions[e.contribution] else { continue }
            if c.statementSHA256 != e.statementSHA256 || c.expertSHA256 != e.expertSHA256 || c.routingSHA256 != e.routingSHA256 || c.organisation != e.organisation {
                report.fail("audit.release_digest_mismatch", "release \(n) describes contribution \(e.contribution) with other digests than the log", entry: index)
            }
        }
    }
}
