import Foundation
import TributaryCore
import TributaryLog

/// Replays every log entry in order, re-verifying each against the state before it: the policy in
/// force, who is enrolled with which keys, which contributions are live, what every release must
/// contain. The same rules the server enforces (protocol/SPEC.md §11), checked from the entries alone.
struct LogReplay {
    struct Key {
        let key: VerifierKey
        let enrolledAt: UInt64
        var retiredAt: UInt64?
        var revokedAt: UInt64?
        var isLive: Bool { retiredAt == nil && revokedAt == nil }
    }
    struct Contribution {
        let index: UInt64, organisation: String, verifierKey: String
        let statementSHA256: String, expertSHA256: String, routingSHA256: String
        let anchorSHA256: String
        /// The policy in force when it was accepted (its routing bounds are checked with the release).
        let policy: ContributionPolicy?
        var revokedAt: UInt64?
        var takenDownAt: UInt64?
        /// Out of releases from `size` on.
        func isLive(asOf size: UInt64) -> Bool {
            index < size && (revokedAt.map { $0 >= size } ?? true) && (takenDownAt.map { $0 >= size } ?? true)
        }
    }
    /// A release entry; its manifest is fetched and checked after the replay.
    struct Release { let index: UInt64; let manifestSHA256: String }

    let logKey: VerifierKey
    let operatorKey: VerifierKey?
    var origin: String { logKey.name }
    var policy: PolicyDocument?
    var keys = [Key]()
    var contributions = [UInt64: Contribution]()
    var releases = [Int: Release]()
    var epsilonSpent = [String: Double]()
    var seenStatements = Set<String>(), seenExperts = Set<String>(), seenNonces = Set<String>(), seenRequestNonces = Set<String>()

    init(logKey: VerifierKey, operatorKey: VerifierKey?) {
        self.logKey = logKey
        self.operatorKey = operatorKey
    }

    /// Live contributions among the first `size` entries, in log order.
    func live(asOf size: UInt64) -> [Contribution] {
        contributions.values.filter { $0.isLive(asOf: size) }.sorted { $0.index < $1.index }
    }

    func keys(_ org: String, _ keyID: String) -> [Int] {
        keys.indices.filter { keys[$0].key.name.sameBytes(org) && keys[$0].key.keyIDHex == keyID }
    }

    mutating func apply(_ bytes: [UInt8], at index: UInt64, report: inout AuditReport) {
        let entry: LogEntry
        do { entry = try LogEntry.parse(bytes) } catch {
            report.fail("audit.bad_entry", "\(error)", entry: index)
            return
        }
        if policy == nil {
            if case .policy = entry {} else { report.fail("audit.no_policy", "entry \(index) (\(entry.type)) comes before any logged policy", entry: index) }
        }
        switch entry {
        case let .policy(_, document): setPolicy(document, index, &report)
        case let .enrolment(org, vk, _, request): enrol(org, vk, request, index, &report)
        case let .keyRotation(org, old, vk, _, request): rotate(org, old, vk, request, index, &report)
        case let .keyRevocation(org, keyID, takedown, _, request): revokeKey(org, keyID, takedown, request, index, &report)
        case let .contribution(org, keyID, time, envelope, files): contribute(org, keyID, time, envelope, files, index, &report)
        case let .contributionRevocation(c, org, _, request): revokeContribution(c, org, request, index, &report)
        case let .contributionTakedown(c, reason, _, request): takeDown(c, reason, request, index, &report)
        case let .release(n, _, sha): release(n, sha, index, &report)
        }
    }

    mutating func setPolicy(_ document: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.policies += 1
        do {
            let doc = try PolicyDocument.verify(document, key: logKey)
            guard doc.origin.sameBytes(origin) else { throw TributaryError("audit.bad_policy", "the policy is for \(doc.origin)") }
            if let p = policy, p.anchorSHA256 != doc.anchorSHA256 {
                throw TributaryError("audit.anchor_mismatch", "the policy names another anchor than the one before")
            }
            policy = doc
        } catch {
            report.fail("audit.bad_policy", "policy at entry \(index) does not verify: \(error)", entry: index)
        }
    }

    /// Checks a logged signed request: well formed, for this log, asking exactly what the entry
    /// records (read as the server reads it, `SignedAction`), signed by one of `signers`, its nonce
    /// never used before. Returns the signer.
    mutating func checkRequest(_ bytes: [UInt8], expected: SignedAction, signers: [VerifierKey]) throws -> VerifierKey {
        let (env, req) = try SignedRequest.parse(bytes)
        guard req.origin.sameBytes(origin) else { throw RequestError.wrongOrigin(expected: origin, got: req.origin) }
        let asked = try req.action(expected.kind)
        guard asked == expected else { throw RequestError.malformed("the request asks \(asked), the entry records \(expected)") }
        // `signers` are live already: the operator's key and the organisation's live keys.
        let named = signers.filter { $0.name.sameBytes(req.organisation) && $0.keyIDHex == req.keyID }
        guard case let .live(signer) = SignerMatch(named, envelope: env, verifierKey: { $0 }, isLive: { _ in true }) else {
            throw RequestError.badSignature
        }
        guard seenRequestNonces.insert(req.nonce).inserted else { throw RequestError.replayed }
        return signer
    }

    /// An operator action's request: required and checked when the operator's key is pinned.
    mutating func checkOperatorRequest(_ bytes: [UInt8]?, expected: SignedAction, what: String, _ index: UInt64, _ report: inout AuditReport) -> Bool {
        guard let op = operatorKey else { return true }
        guard let bytes else {
            report.fail("audit.unsigned_request", "\(what) carries no request signed by the operator", entry: index)
            return false
        }
        do { _ = try checkRequest(bytes, expected: expected, signers: [op]) } catch {
            report.fail("audit.bad_request", "\(what) is not signed by the operator key: \(error)", entry: index)
            return false
        }
        return true
    }

    mutating func enrol(_ org: String, _ text: String, _ request: [UInt8]?, _ index: UInt64, _ report: inout AuditReport) {
        report.enrolments += 1
        guard let key = try? VerifierKey(parsing: text), key.name.sameBytes(org), OrganisationName.isCanonical(org) else {
            return report.fail("audit.bad_enrolment", "enrolment of \(org) carries an invalid key, one named otherwise, or a name that is not canonical", entry: index)
        }
        guard !keys.contains(where: { $0.key == key || $0.key.name.sameBytes(org) }) else {
            return report.fail("audit.duplicate_enrolment", "\(org) or its key is enrolled twice (a new key needs a rotation)", entry: index)
        }
        guard checkOperatorRequest(request, expected: .enrol(verifierKey: text), what: "enrolment of \(org)", index, &report) else { return }
        keys.append(Key(key: key, enrolledAt: index))
    }

    mutating func rotate(_ org: String, _ oldKeyID: String, _ text: String, _ request: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.rotations += 1
        guard let key = try? VerifierKey(parsing: text), key.name.sameBytes(org) else {
            return report.fail("audit.bad_enrolment", "rotation of \(org) carries an invalid key or one named otherwise", entry: index)
        }
        guard let old = keys.indices.first(where: { keys[$0].key.name.sameBytes(org) && keys[$0].isLive }), keys[old].key.keyIDHex == oldKeyID else {
            return report.fail("audit.unknown_key", "rotation of \(org) names key \(oldKeyID), which is not its live key", entry: index)
        }
        guard !keys.contains(where: { $0.key == key }), keys(org, key.keyIDHex).isEmpty else {
            return report.fail("audit.duplicate_enrolment", "rotation of \(org) to a key already enrolled or sharing an earlier key's ID", entry: index)
        }
        guard checkOperatorRequest(request, expected: .rotateKey(organisation: org, verifierKey: text), what: "rotation of \(org)", index, &report) else {
            return
        }
        keys[old].retiredAt = index
        keys.append(Key(key: key, enrolledAt: index))
    }

    mutating func revokeKey(_ org: String, _ keyID: String, _ takedown: Bool, _ request: [UInt8], _ index: UInt64, _ report: inout AuditReport) {
        report.keyRevocations += 1
        let candidates = keys(org, keyID)
        guard !candidates.isEmpty else { return report.fail("audit.unknown_key", "revocation of key \(keyID) of \(org), which is not enrolled", entry: index) }
        // The request's parameters read as the server reads them (takedown absent is false), checked
        // before the signer: a mismatch fails even where the signer cannot be checked.
        let expected = SignedAction.revokeKey(KeyRevocationParameters(keyID: keyID, organisation: org, takedown: takedown))
        do {
            let asked = try SignedRequest.parse(request).request.action(.revokeKey)
            guard asked == expected else { throw RequestError.malformed("the request asks \(asked), the entry records \(expected)") }
        } catch {
            return report.fail("audit.bad_request", "revocation of key \(keyID) does not match its request: \(error)", entry: index)
        }
        // Signed by the key itself, or by the operator. Without the operator's key pinned, an operator
        // revocation cannot be checked here, and is reported as such.
        let own = candidates.map { keys[$0].key }
        var signer: VerifierKey?
        do { signer = try checkRequest(request, expected: expected, signers: own + (operatorKey.map { [$0] } ?? [])) } catch {
            if operatorKey != nil || (try? SignedRequest.parse(request))?.1.organisation.sameBytes(org) == true {
                return report.fail("audit.bad_request", "revocation of key \(keyID) is not properly signed: \(error)", entry: index)
            }
            report.check("revocation of key \(keyID) at entry \(index) is signed by a key this audit cannot check (pin --operator-key)")
        }
        let target = signer.flatMap { s in candidates.first { keys[$0].key == s } } ?? candidates[0]
        guard keys[target].revokedAt == nil else { return report.fail("audit.duplicate_revocation", "key \(keyID) revoked twice", entry: index) }
        keys[target].revokedAt = index
        if takedown {
            for (i, c) in contributions where c.verifierKey == keys[target].key.encoded && c.revokedAt == nil && c.takenDownAt == nil {
                contributions[i]?.takenDownAt = index
            }
        }
    }
}
