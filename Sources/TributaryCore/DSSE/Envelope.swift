/// A DSSE envelope (secure-systems-lab/dsse `envelope.md`):
/// `{"payload": base64, "payloadType": string, "signatures": [{"keyid": string, "sig": base64}]}`.
public struct DSSEEnvelope: Equatable, Sendable {
    public struct Signature: Equatable, Sendable {
        public let keyid: String
        public let sig: [UInt8]
    }

    public static let inTotoPayloadType = "application/vnd.in-toto+json"
    /// Envelopes are small; anything larger is refused before parsing.
    public static let maxEncodedSize = 1 << 20
    /// A verifier tries each signature: more than this many is refused before any is checked.
    public static let maxSignatures = 8
    /// A signature's key-ID hint at most this many bytes (ours: a key name of at most 63 and 9 more).
    public static let maxKeyIDBytes = 256

    public let payloadType: String
    /// The exact payload bytes that were signed.
    public let payload: [UInt8]
    public let signatures: [Signature]

    public init(payloadType: String, payload: [UInt8], signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Signs `payload` with one key. `keyid` is the C2SP key name and ID, `name+hex(keyID)`: a hint only.
    public static func sign(payload: [UInt8], payloadType: String, key: SigningKey) -> DSSEEnvelope {
        let sig = key.sign(preAuthEncoding(payloadType: payloadType, payload: payload))
        return DSSEEnvelope(payloadType: payloadType, payload: payload,
                            signatures: [Signature(keyid: "\(key.name)+\(Hex.encode(key.keyID))", sig: sig)])
    }

    /// The canonical serialisation we write (sorted keys, compact, standard padded base64), plus a newline.
    public func serialized() -> [UInt8] {
        let json = JSONValue.object([
            ("payload", .string(Base64.encode(payload))),
            ("payloadType", .string(payloadType)),
            ("signatures", .array(signatures.map {
                .object([("keyid", .string($0.keyid)), ("sig", .string(Base64.encode($0.sig)))])
            })),
        ])
        return JSONWriter.serialize(json) + [0x0a]
    }

    /// Parses an envelope strictly: duplicate keys, unknown fields, bad base64 and empty signature
    /// lists are errors. Accepts standard and URL-safe base64, padded or not, as DSSE requires.
    public static func parse(_ bytes: [UInt8]) throws(EnvelopeError) -> DSSEEnvelope {
        guard bytes.count <= maxEncodedSize else { throw .tooLarge(bytes.count) }
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes, maxDepth: 8) } catch { throw .malformed(error.description) }
        do {
            var r = try JSONObjectReader(json, path: "envelope")
            let payloadText = try r.string("payload")
            let type = try r.string("payloadType")
            let sigs = try r.array("signatures")
            try r.finish()
            guard let payload = Base64.decodeLenient(payloadText) else { throw EnvelopeError.badBase64("payload") }
            guard !sigs.isEmpty else { throw EnvelopeError.noSignatures }
            guard sigs.count <= maxSignatures else { throw EnvelopeError.tooManySignatures(sigs.count) }
            var signatures = [Signature]()
            for (i, s) in sigs.enumerated() {
                var sr = try JSONObjectReader(s, path: "envelope.signatures[\(i)]")
                let keyid = try sr.optionalString("keyid") ?? ""
                // A hint (`name+keyid`), logged with the envelope: short, whatever it says.
                guard keyid.utf8.count <= Self.maxKeyIDBytes else {
                    throw EnvelopeError.malformed("signatures[\(i)].keyid is \(keyid.utf8.count) bytes, more than \(Self.maxKeyIDBytes)")
                }
                let sigText = try sr.string("sig")
                try sr.finish()
                guard let sig = Base64.decodeLenient(sigText) else { throw EnvelopeError.badBase64("signatures[\(i)].sig") }
                signatures.append(Signature(keyid: keyid, sig: sig))
            }
            return DSSEEnvelope(payloadType: type, payload: payload, signatures: signatures)
        } catch let e as JSONSchemaError {
            throw .malformed(e.description)
        } catch let e as EnvelopeError {
            throw e
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// True when some signature verifies under `key` over PAE(payloadType, payload).
    /// The payload type is checked by the caller after this, as DSSE orders it.
    public func isSigned(by key: VerifierKey) -> Bool {
        let pae = preAuthEncoding(payloadType: payloadType, payload: payload)
        return signatures.contains { key.verify(signature: $0.sig, message: pae) }
    }
}

public enum EnvelopeError: CodedError, Equatable {
    case tooLarge(Int)
    case malformed(String)
    case badBase64(String)
    case noSignatures
    case tooManySignatures(Int)

    public var code: String {
        switch self {
        case .tooLarge: return "envelope.too_large"
        case .malformed: return "envelope.malformed"
        case .badBase64: return "envelope.bad_base64"
        case .noSignatures: return "envelope.no_signatures"
        case .tooManySignatures: return "envelope.too_many_signatures"
        }
    }

    public var message: String {
        switch self {
        case let .tooLarge(n): return "envelope is \(n) bytes, more than the \(DSSEEnvelope.maxEncodedSize)-byte limit"
        case let .malformed(why): return "envelope is not a valid DSSE envelope: \(why)"
        case let .badBase64(field): return "envelope field \(field) is not valid base64"
        case .noSignatures: return "envelope carries no signatures"
        case let .tooManySignatures(n): return "envelope carries \(n) signatures, more than the \(DSSEEnvelope.maxSignatures) a verifier tries"
        }
    }
}
