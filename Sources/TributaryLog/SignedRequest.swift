import Foundation
import TributaryCore

/// A state-changing request (revoke a contribution, revoke a key, enrol, publish a release), signed by
/// the caller over its exact bytes: a DSSE envelope, payload type `application/vnd.tributary.request.v2+json`,
/// whose payload is canonical JSON
///     {"action", "keyID", "nonce" (32 random bytes, hex), "organisation", "origin", "parameters": {...}, "timestamp"}.
/// The server accepts it only for its own log origin, within ±`maxSkew` of its clock and only once (nonce).
public struct SignedRequest: Equatable, Sendable {
    public static let payloadType = "application/vnd.tributary.request.v2+json"
    public static let maxSkewSeconds: Int64 = 300

    /// The log origin of the deployment the request is for.
    public let origin: String
    public let action: String
    public let organisation: String
    public let keyID: String
    public let timestamp: String
    public let nonce: String
    public let parameters: JSONValue

    public init(origin: String, action: String, organisation: String, keyID: String, timestamp: String, nonce: String, parameters: JSONValue) {
        self.origin = origin
        self.action = action
        self.organisation = organisation
        self.keyID = keyID
        self.timestamp = timestamp
        self.nonce = nonce
        self.parameters = parameters
    }

    public var json: JSONValue {
        .object([("origin", .string(origin)), ("action", .string(action)), ("organisation", .string(organisation)), ("keyID", .string(keyID)),
                 ("timestamp", .string(timestamp)), ("nonce", .string(nonce)), ("parameters", parameters)])
    }

    /// A fresh request for the deployment whose log origin is `origin`, signed by `key`, as envelope
    /// bytes ready to send.
    public static func make(origin: String, action: String, parameters: JSONValue, key: SigningKey, now: String = Timestamp.nowRFC3339(),
                            nonce: [UInt8] = secureRandomBytes(32)) -> [UInt8] {
        let r = SignedRequest(origin: origin, action: action, organisation: key.name, keyID: Hex.encode(key.keyID), timestamp: now,
                              nonce: Hex.encode(nonce), parameters: parameters)
        return DSSEEnvelope.sign(payload: JSONWriter.serialize(r.json), payloadType: payloadType, key: key).serialized()
    }

    /// Parses the envelope and payload (signature not yet checked: the caller picks the key).
    public static func parse(_ bytes: [UInt8]) throws -> (envelope: DSSEEnvelope, request: SignedRequest) {
        let env = try DSSEEnvelope.parse(bytes)
        guard env.payloadType == payloadType else { throw RequestError.wrongType(env.payloadType) }
        let json: JSONValue
        do { json = try StrictJSONParser.parse(env.payload) } catch { throw RequestError.malformed("\(error)") }
        do {
            var r = try JSONObjectReader(json, path: "request")
            let req = SignedRequest(origin: try r.string("origin"), action: try r.string("action"), organisation: try r.string("organisation"),
                                    keyID: try r.string("keyID"), timestamp: try r.string("timestamp"),
                                    nonce: try r.string("nonce"), parameters: try r.value("parameters"))
            try r.finish()
            guard LogOrigin.isValid(req.origin) else { throw RequestError.malformed("origin must be a log origin") }
            guard Hex.isLowerHex(req.nonce, byteCount: 32) else { throw RequestError.malformed("nonce must be 64 hex digits") }
            guard Hex.isLowerHex(req.keyID, byteCount: 4) else { throw RequestError.malformed("keyID must be 8 hex digits") }
            guard Timestamp.parseRFC3339(req.timestamp) != nil else { throw RequestError.malformed("timestamp must be RFC 3339 UTC") }
            guard case .object = req.parameters else { throw RequestError.malformed("parameters must be an object") }
            return (env, req)
        } catch let e as JSONSchemaError {
            throw RequestError.malformed(e.description)
        }
    }

    /// Checks the deployment, the action, the signature under `key` (which must be the one the request
    /// names) and the time window.
    public func check(envelope: DSSEEnvelope, key: VerifierKey, now: Int64, origin expectedOrigin: String, action expected: SignedAction.Kind) throws {
        guard origin.sameBytes(expectedOrigin) else { throw RequestError.wrongOrigin(expected: expectedOrigin, got: origin) }
        guard action == expected.rawValue else { throw RequestError.wrongAction(expected: expected.rawValue, got: action) }
        guard key.name.sameBytes(organisation), key.keyIDHex == keyID else { throw RequestError.keyMismatch }
        guard envelope.isSigned(by: key) else { throw RequestError.badSignature }
        guard let t = Timestamp.parseRFC3339(timestamp) else { throw RequestError.stale(timestamp) }
        let (skew, overflow) = t.subtractingReportingOverflow(now)
        guard !overflow, skew.magnitude <= UInt64(Self.maxSkewSeconds) else { throw RequestError.stale(timestamp) }
    }
}

/// `revoke-key`'s parameters, read by this one function on the server and in the auditor's replay, so
/// the two can never disagree about what a logged revocation asked: `keyID` and `organisation`
/// strings, `takedown` a boolean that is false when absent, nothing else.
public struct KeyRevocationParameters: Equatable, Sendable {
    public let keyID: String
    public let organisation: String
    public let takedown: Bool

    public init(keyID: String, organisation: String, takedown: Bool) {
        self.keyID = keyID
        self.organisation = organisation
        self.takedown = takedown
    }

    public init(_ parameters: JSONValue) throws(RequestError) {
        guard case let .object(members) = parameters else { throw .malformed("parameters must be an object") }
        for (k, _) in members where !["keyID", "organisation", "takedown"].contains(k) {
            throw .malformed("revoke-key takes keyID, organisation and takedown, not \(k.debugDescription)")
        }
        guard case let .string(id)? = parameters["keyID"], case let .string(org)? = parameters["organisation"] else {
            throw .malformed("parameters.keyID and parameters.organisation are required strings")
        }
        switch parameters["takedown"] {
        case nil: takedown = false
        case let .bool(b)?: takedown = b
        default: throw .malformed("parameters.takedown must be true or false")
        }
        keyID = id
        organisation = org
    }
}

public enum RequestError: CodedError, Equatable {
    case malformed(String)
    case wrongType(String)
    case wrongOrigin(expected: String, got: String)
    case wrongAction(expected: String, got: String)
    case keyMismatch
    case badSignature
    case stale(String)
    case replayed
    case unknownKey(String)
    case keyRevoked(String)
    case forbidden(String)

    public var code: String {
        switch self {
        case .malformed: return "request.malformed"
        case .wrongType: return "request.wrong_type"
        case .wrongOrigin: return "request.wrong_origin"
        case .wrongAction: return "request.wrong_action"
        case .keyMismatch: return "request.key_mismatch"
        case .badSignature: return "request.bad_signature"
        case .stale: return "request.stale"
        case .replayed: return "request.replayed"
        case .unknownKey: return "request.unknown_key"
        case .keyRevoked: return "request.key_revoked"
        case .forbidden: return "request.forbidden"
        }
    }

    public var message: String {
        switch self {
        case let .malformed(why): return "signed request is malformed: \(why)"
        case let .wrongType(t): return "signed request payload type is \"\(t)\", expected \"\(SignedRequest.payloadType)\""
        case let .wrongOrigin(e, g): return "the request is for the deployment \(g.debugDescription), this is \(e.debugDescription)"
        case let .wrongAction(e, g): return "request action is \"\(g)\", this endpoint takes \"\(e)\""
        case .keyMismatch: return "the request's organisation and key ID do not name the verifying key"
        case .badSignature: return "the request's signature does not verify"
        case let .stale(t): return "request timestamp \(t) is more than \(SignedRequest.maxSkewSeconds) s from the server's clock"
        case .replayed: return "this request's nonce was already used"
        case let .unknownKey(k): return "key \(k) is not enrolled"
        case let .keyRevoked(k): return "key \(k) has been revoked"
        case let .forbidden(why): return "not allowed: \(why)"
        }
    }
}
