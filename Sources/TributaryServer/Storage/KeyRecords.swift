import Foundation
import TributaryAPI
import TributaryCore
import TributaryLog

/// Enrolment, rotation and revocation of organisations' keys (protocol/SPEC.md §11.4). Invariants,
/// checked inside each transaction: organisation names are canonical and enrolled once; an
/// organisation has at most one live key; a verifier key is enrolled at most once anywhere; an
/// organisation's keys never share a key ID (the 4-byte hint that signatures name).
extension MetadataStore {
    static let keyColumns = "key_id, organisation, verifier_key, enrolled_at, retired_at, revoked_at"

    static func keyRow(_ s: any SQLRow) throws -> EnrolledKey {
        EnrolledKey(keyID: s.text(0), organisation: s.text(1), verifierKey: try VerifierKey(parsing: s.text(2)),
                  enrolledAt: UInt64(s.int(3)), retiredAt: s.isNull(4) ? nil : UInt64(s.int(4)), revokedAt: s.isNull(5) ? nil : UInt64(s.int(5)))
    }

    /// Every key of `organisation` whose ID is `keyID` (normally one; several only if IDs collide).
    public func keys(organisation: String, keyID: String) throws -> [EnrolledKey] {
        try db.query("SELECT \(Self.keyColumns) FROM keys WHERE organisation = ? AND key_id = ? ORDER BY enrolled_at",
                     [.text(organisation), .text(keyID)], Self.keyRow)
    }

    public func keys(organisation: String) throws -> [EnrolledKey] {
        try db.query("SELECT \(Self.keyColumns) FROM keys WHERE organisation = ? ORDER BY enrolled_at", [.text(organisation)], Self.keyRow)
    }

    public func keys() throws -> [EnrolledKey] {
        try db.query("SELECT \(Self.keyColumns) FROM keys ORDER BY enrolled_at", [], Self.keyRow)
    }

    public func key(_ verifierKey: VerifierKey) throws -> EnrolledKey? {
        try db.first("SELECT \(Self.keyColumns) FROM keys WHERE verifier_key = ?", [.text(verifierKey.encoded)], Self.keyRow)
    }

    public func liveKey(organisation: String) throws -> EnrolledKey? {
        try keys(organisation: organisation).first(where: \.isLive)
    }

    public func enrol(_ key: VerifierKey, request: [UInt8]?, nonce: String?) throws -> AppendResult {
        guard OrganisationName.isCanonical(key.name) else { throw IdentityError.notCanonical(key.name) }
        let entry = LogEntry.enrolment(organisation: key.name, verifierKey: key.encoded, time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            if let existing = try self.key(key) { throw IdentityError.keyEnrolled(existing.organisation) }
            guard try keys(organisation: key.name).isEmpty else { throw IdentityError.organisationEnrolled(key.name) }
            if let nonce { try useNonce(nonce) }
            try insertKey(key, at: index)
        }
    }

    /// Replaces an organisation's live key with `newKey` (same name): the old key is retired.
    public func rotateKey(organisation: String, to newKey: VerifierKey, request: [UInt8], nonce: String) throws -> AppendResult {
        guard newKey.name.sameBytes(organisation) else { throw IdentityError.wrongName(key: newKey.name, organisation: organisation) }
        guard let old = try liveKey(organisation: organisation) else { throw IdentityError.noLiveKey(organisation) }
        let entry = LogEntry.keyRotation(organisation: organisation, oldKeyID: old.keyID, verifierKey: newKey.encoded,
                                         time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            if let existing = try self.key(newKey) { throw IdentityError.keyEnrolled(existing.organisation) }
            guard try keys(organisation: organisation, keyID: newKey.keyIDHex).isEmpty else { throw IdentityError.keyIDCollision(newKey.keyIDHex) }
            try useNonce(nonce)
            try db.run("UPDATE keys SET retired_at = ? WHERE verifier_key = ?", [.int(Int64(index)), .text(old.verifierKey.encoded)])
            try insertKey(newKey, at: index)
        }
    }

    /// Revokes a key; with `takedown` every contribution it signed that is still live is taken down.
    /// Whether the key is already revoked is read inside the transaction (two revocations at once log one).
    public func revokeKey(_ record: EnrolledKey, takedown: Bool, request: [UInt8], nonce: String) throws -> AppendResult {
        let entry = LogEntry.keyRevocation(organisation: record.organisation, keyID: record.keyID, takedown: takedown,
                                           time: Timestamp.nowRFC3339(), request: request)
        return try append(entry) { index in
            guard try key(record.verifierKey)?.revokedAt == nil else {
                throw ServerError.conflict("key \(record.keyID) of \(record.organisation) is already revoked")
            }
            try useNonce(nonce)
            try db.run("UPDATE keys SET revoked_at = ? WHERE verifier_key = ?", [.int(Int64(index)), .text(record.verifierKey.encoded)])
            if takedown {
                try db.run("UPDATE contributions SET taken_down_at = ? WHERE verifier_key = ? AND taken_down_at IS NULL AND revoked_at IS NULL",
                           [.int(Int64(index)), .text(record.verifierKey.encoded)])
            }
        }
    }

    private func insertKey(_ key: VerifierKey, at index: UInt64) throws {
        try db.run("INSERT INTO keys (verifier_key, key_id, organisation, enrolled_at) VALUES (?, ?, ?, ?)",
                   [.text(key.encoded), .text(key.keyIDHex), .text(key.name), .int(Int64(index))])
    }
}

/// Why an enrolment, rotation or key lookup was refused.
public enum IdentityError: CodedError, Equatable {
    case notCanonical(String)
    case organisationEnrolled(String)
    case keyEnrolled(String)
    case keyIDCollision(String)
    case wrongName(key: String, organisation: String)
    case noLiveKey(String)

    public var code: String {
        switch self {
        case .notCanonical: return "identity.not_canonical"
        case .organisationEnrolled: return "identity.organisation_enrolled"
        case .keyEnrolled: return "identity.key_enrolled"
        case .keyIDCollision: return "identity.key_id_collision"
        case .wrongName: return "identity.wrong_name"
        case .noLiveKey: return "identity.no_live_key"
        }
    }

    public var message: String {
        switch self {
        case let .notCanonical(n): return "organisation name \(n.debugDescription) is not canonical: \(OrganisationName.rule)"
        case let .organisationEnrolled(n): return "\(n) is already enrolled; a new key for it needs an operator-signed rotation (rotate-key)"
        case let .keyEnrolled(n): return "this key is already enrolled (for \(n))"
        case let .keyIDCollision(id): return "the new key's ID \(id) equals one of the organisation's earlier keys; generate another key"
        case let .wrongName(k, o): return "the key is named \(k), not \(o)"
        case let .noLiveKey(o): return "\(o) has no live key to rotate"
        }
    }
}
