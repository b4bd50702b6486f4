import Foundation
import TributaryAPI
import TributaryCore
import TributaryLog

/// Operator and key-holder actions, each a signed request (protocol/SPEC.md §11.4) whose exact bytes
/// go into the log entry it causes.
extension AggregationServer {
    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// Enrols an organisation's key. Over HTTP the request must be signed by the operator key; the
    /// local admin command passes its own operator-signed request too (or none on a server without
    /// an operator key).
    public func enrol(_ key: VerifierKey, request bytes: [UInt8]?) async throws -> AppendResult {
        var nonce: String?
        if let bytes {
            let (envelope, req) = try SignedRequest.parse(bytes)
            nonce = req.nonce
            try checkOperator(req, envelope: envelope, action: .enrol)
            guard case let .enrol(vk) = try req.action(.enrol), vk == key.encoded else {
                throw RequestError.malformed("parameters.verifierKey must be the key being enrolled")
            }
            guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        } else if config.operatorKey != nil {
            throw RequestError.forbidden("this server has an operator key: an enrolment must carry a request it signed")
        }
        let r = try await store.enrol(key, request: bytes, nonce: nonce)
        logger.info("organisation enrolled", metadata: ["organisation": "\(key.name)", "key_id": "\(key.keyIDHex)"])
        metrics.logSize.record(Int64(r.size))
        return r
    }

    /// Replaces an organisation's key (operator request `rotate-key`).
    public func rotateKey(request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        try checkOperator(req, envelope: envelope, action: .rotateKey)
        guard case let .rotateKey(org, text) = try req.action(.rotateKey) else { throw RequestError.malformed("not a rotation") }
        let key = try VerifierKey(parsing: text)
        guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        let r = try await store.rotateKey(organisation: org, to: key, request: bytes, nonce: req.nonce)
        logger.info("key rotated", metadata: ["organisation": "\(org)", "key_id": "\(key.keyIDHex)"])
        metrics.logSize.record(Int64(r.size))
        return r
    }

    /// Revokes a key: by its own organisation (signed by that key) or by the operator. Parameters
    /// `organisation`, `keyID` and `takedown` (true: the key is compromised, and every contribution
    /// it signed is taken down with it).
    public func revokeKey(_ keyID: String, request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        guard case let .revokeKey(parameters) = try req.action(.revokeKey) else { throw RequestError.malformed("not a key revocation") }
        guard parameters.keyID == keyID else { throw RequestError.malformed("parameters.keyID must be \(keyID)") }
        let org = parameters.organisation, takedown = parameters.takedown
        let candidates = try await store.keys(organisation: org, keyID: keyID)
        guard !candidates.isEmpty else { throw ServerError.notFound("\(org) has no key \(keyID)") }
        let record: EnrolledKey
        if let op = config.operatorKey, req.keyID == op.keyIDHex, req.organisation.sameBytes(op.name) {
            try checkOperator(req, envelope: envelope, action: .revokeKey)
            guard candidates.count == 1 else {
                throw ServerError.conflict("\(org) has \(candidates.count) keys with ID \(keyID); revoke it by the key's own signature")
            }
            record = candidates[0]
        } else {
            // Self-revocation: signed by the very key revoked (whichever of the colliding ones it is).
            guard req.organisation.sameBytes(org), req.keyID == keyID,
                  let own = candidates.first(where: { envelope.isSigned(by: $0.verifierKey) }) else {
                throw RequestError.forbidden("a key is revoked by the operator or by a request it signs itself")
            }
            try req.check(envelope: envelope, key: own.verifierKey, now: now, origin: config.origin, action: .revokeKey)
            record = own
        }
        guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        let r = try await store.revokeKey(record, takedown: takedown, request: bytes, nonce: req.nonce)
        logger.info("key revoked", metadata: ["organisation": "\(org)", "key_id": "\(keyID)", "takedown": "\(takedown)"])
        metrics.logSize.record(Int64(r.size))
        if takedown { await dropFromRouting(try await store.allContributions().filter { $0.verifierKey == record.verifierKey.encoded }.map(\.logIndex)) }
        scheduleRelease()
        return r
    }

    /// The operator takes a contribution down (request `takedown-contribution`, with a reason).
    public func takeDown(_ index: UInt64, request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        try checkOperator(req, envelope: envelope, action: .takedown)
        guard case let .takedown(c, reason) = try req.action(.takedown), c == index else {
            throw RequestError.malformed("parameters.contribution must be \(index)")
        }
        guard let c = try await store.contribution(index) else { throw ServerError.notFound("no contribution at log index \(index)") }
        guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        let r = try await store.takeDown(c, reason: reason, request: bytes, nonce: req.nonce)
        logger.notice("contribution taken down", metadata: ["log_index": "\(index)", "reason": "\(reason)"])
        metrics.logSize.record(Int64(r.size))
        await dropFromRouting([index])
        scheduleRelease()
        return r
    }

    /// Publishes a release now (operator request).
    public func publishRelease(request bytes: [UInt8]) async throws -> LoadedRelease? {
        let (envelope, req) = try SignedRequest.parse(bytes)
        try checkOperator(req, envelope: envelope, action: .publishRelease)
        _ = try req.action(.publishRelease)
        try await store.recordNonce(req.nonce)
        return try await releases.publish(force: true)
    }

    func checkOperator(_ req: SignedRequest, envelope: DSSEEnvelope, action: SignedAction.Kind) throws {
        guard let op = config.operatorKey else { throw ServerError.forbidden("this server has no operator key (start it with --operator-key)") }
        try req.check(envelope: envelope, key: op, now: now, origin: config.origin, action: action)
    }
}
