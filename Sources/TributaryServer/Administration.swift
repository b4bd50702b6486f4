import Foundation
import TributaryCore
import TributaryLog

extension AggregationServer {
    /// Enrols an organisation's key. Over HTTP the request must be signed by the operator key; the
    /// local admin command (on the server machine) passes no request.
    public func enrol(_ key: VerifierKey, request bytes: [UInt8]?) async throws -> AppendResult {
        var nonce: String?
        if let bytes {
            let (envelope, req) = try SignedRequest.parse(bytes)
            nonce = req.nonce
            try checkOperator(req, envelope: envelope, action: "enrol")
            guard case let .string(vk)? = req.parameters["verifierKey"], vk == key.encoded else {
                throw RequestError.malformed("parameters.verifierKey must be the key being enrolled")
            }
            guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        }
        let r = try await store.enrol(key, request: bytes, nonce: nonce)
        logger.info("organisation enrolled", metadata: ["organisation": "\(key.name)", "key_id": "\(key.keyIDHex)"])
        metrics.logSize.record(Int64(r.size))
        return r
    }

    /// Revokes a key: by its own organisation (a compromised key) or by the operator.
    public func revokeKey(_ keyID: String, request bytes: [UInt8]) async throws -> AppendResult {
        let (envelope, req) = try SignedRequest.parse(bytes)
        guard case let .string(target)? = req.parameters["keyID"], target == keyID else {
            throw RequestError.malformed("parameters.keyID must be \(keyID)")
        }
        guard let record = try await store.key(id: keyID) else { throw ServerError.notFound("key \(keyID) is not enrolled") }
        if let op = config.operatorKey, req.keyID == op.keyIDHex, req.organisation == op.name {
            try checkOperator(req, envelope: envelope, action: "revoke-key")
            guard !(try await store.nonceUsed(req.nonce)) else { throw RequestError.replayed }
        } else {
            let key = try await requestKey(req)
            guard key.organisation == record.organisation else {
                throw RequestError.forbidden("\(key.organisation) cannot revoke a key of \(record.organisation)")
            }
            try req.check(envelope: envelope, key: key.verifierKey, now: Int64(Date().timeIntervalSince1970), expectedAction: "revoke-key")
        }
        let r = try await store.revokeKey(record, request: bytes, nonce: req.nonce)
        logger.info("key revoked", metadata: ["key_id": "\(keyID)"])
        return r
    }

    /// Publishes a release now (operator request).
    public func publishRelease(request bytes: [UInt8]) async throws -> LoadedRelease? {
        let (envelope, req) = try SignedRequest.parse(bytes)
        try checkOperator(req, envelope: envelope, action: "publish-release")
        try await store.recordNonce(req.nonce)
        return try await releases.publish(force: true)
    }

    func checkOperator(_ req: SignedRequest, envelope: DSSEEnvelope, action: String) throws {
        guard let op = config.operatorKey else { throw ServerError.forbidden("this server has no operator key (start it with --operator-key)") }
        try req.check(envelope: envelope, key: op, now: Int64(Date().timeIntervalSince1970), expectedAction: action)
    }
}
