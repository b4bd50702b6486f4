import Foundation
import TributaryCore

/// One entry of the transparency log: canonical JSON bytes (sorted keys, compact); the leaf hash is
/// SHA-256(0x00 || bytes). Signed material (envelopes, requests) is carried as base64 of its exact
/// bytes so anyone can re-verify it; large documents (release manifests) by their digest, so entries
/// stay small and the log grows with activity, not with the size of what it describes.
public enum LogEntry: Equatable, Sendable {
    /// The server's contribution policy, a DSSE envelope signed by the log key (`PolicyDocument`).
    /// Logged at first start and whenever the policy changes; it governs the entries after it.
    case policy(time: String, document: [UInt8])
    /// The operator enrols an organisation's verifier key; `request` is the operator's signed request
    /// (null only on a server without an operator key).
    case enrolment(organisation: String, verifierKey: String, time: String, request: [UInt8]?)
    /// The operator replaces an organisation's key: `oldKeyID` signs nothing more, `verifierKey` is the
    /// organisation's key from now on; contributions signed before stay.
    case keyRotation(organisation: String, oldKeyID: String, verifierKey: String, time: String, request: [UInt8])
    /// A key is revoked (by its organisation or the operator). With `takedown` (a compromised key)
    /// every contribution it signed is taken down with it; without, they stay.
    case keyRevocation(organisation: String, keyID: String, takedown: Bool, time: String, request: [UInt8])
    /// An accepted contribution: its envelope (whose payload is the statement) and file digests.
    case contribution(organisation: String, keyID: String, time: String, envelope: [UInt8], files: [String: String])
    /// A contribution withdrawn by its owner (opt-out): `request` is the owner's signed request.
    case contributionRevocation(contribution: UInt64, organisation: String, time: String, request: [UInt8])
    /// The operator takes a contribution down (e.g. its key was compromised), with a reason.
    case contributionTakedown(contribution: UInt64, reason: String, time: String, request: [UInt8])
    /// A published release: the SHA-256 of its manifest (a DSSE envelope signed by the log key,
    /// served as the release's `manifest.json`).
    case release(number: Int, time: String, manifestSHA256: String)

    public var type: String {
        switch self {
        case .policy: return "policy"
        case .enrolment: return "enrolment"
        case .keyRotation: return "key-rotation"
        case .keyRevocation: return "key-revocation"
        case .contribution: return "contribution"
        case .contributionRevocation: return "contribution-revocation"
        case .contributionTakedown: return "contribution-takedown"
        case .release: return "release"
        }
    }

    public var time: String {
        switch self {
        case let .policy(t, _), let .enrolment(_, _, t, _), let .keyRotation(_, _, _, t, _), let .keyRevocation(_, _, _, t, _),
             let .contribution(_, _, t, _, _), let .contributionRevocation(_, _, t, _), let .contributionTakedown(_, _, t, _),
             let .release(_, t, _):
            return t
        }
    }

    public var json: JSONValue {
        func b64(_ b: [UInt8]) -> JSONValue { .string(Base64.encode(b)) }
        var m: [(String, JSONValue)] = [("type", .string(type)), ("time", .string(time))]
        switch self {
        case let .policy(_, doc):
            m += [("policy", b64(doc))]
        case let .enrolment(org, vk, _, req):
            m += [("organisation", .string(org)), ("verifierKey", .string(vk)), ("request", req.map(b64) ?? .null)]
        case let .keyRotation(org, old, vk, _, req):
            m += [("organisation", .string(org)), ("oldKeyID", .string(old)), ("verifierKey", .string(vk)), ("request", b64(req))]
        case let .keyRevocation(org, kid, takedown, _, req):
            m += [("organisation", .string(org)), ("keyID", .string(kid)), ("takedown", .bool(takedown)), ("request", b64(req))]
        case let .contribution(org, kid, _, env, files):
            m += [("organisation", .string(org)), ("keyID", .string(kid)), ("envelope", b64(env)),
                  ("files", .object(files.keys.sorted().map { ($0, .string(files[$0] ?? "")) }))]
        case let .contributionRevocation(c, org, _, req):
            m += [("contribution", .uint64(c)), ("organisation", .string(org)), ("request", b64(req))]
        case let .contributionTakedown(c, reason, _, req):
            m += [("contribution", .uint64(c)), ("reason", .string(reason)), ("request", b64(req))]
        case let .release(n, _, sha):
            m += [("release", .int(n)), ("manifestSHA256", .string(sha))]
        }
        return .object(m)
    }

    public var bytes: [UInt8] { JSONWriter.serialize(json) }
    public var leafHash: [UInt8] { MerkleHash.leaf(bytes) }

    /// Entries are small: anything larger is refused before parsing.
    public static let maxSize = 4 << 20

    public static func parse(_ bytes: [UInt8]) throws -> LogEntry {
        guard bytes.count <= maxSize else { throw LogError.badEntry("entry of \(bytes.count) bytes is larger than \(maxSize)") }
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes) } catch { throw LogError.badEntry("\(error)") }
        do {
            var r = try JSONObjectReader(json, path: "entry")
            func b64(_ field: String) throws -> [UInt8] {
                guard let v = Base64.decodeStandard(try r.string(field)) else { throw LogError.badEntry("\(field) is not base64") }
                return v
            }
            func index(_ field: String) throws -> UInt64 {
                guard case let .number(t) = try r.value(field), let v = UInt64(t) else { throw LogError.badEntry("\(field) must be a log index") }
                return v
            }
            let time = try r.string("time")
            guard Timestamp.parseRFC3339(time) != nil else { throw LogError.badEntry("time must be RFC 3339 UTC") }
            let entry: LogEntry
            switch try r.string("type") {
            case "policy":
                entry = .policy(time: time, document: try b64("policy"))
            case "enrolment":
                let request = try r.value("request")
                entry = .enrolment(organisation: try r.string("organisation"), verifierKey: try r.string("verifierKey"), time: time,
                                   request: request == .null ? nil : try b64("request"))
            case "key-rotation":
                entry = .keyRotation(organisation: try r.string("organisation"), oldKeyID: try r.string("oldKeyID"),
                                     verifierKey: try r.string("verifierKey"), time: time, request: try b64("request"))
            case "key-revocation":
                entry = .keyRevocation(organisation: try r.string("organisation"), keyID: try r.string("keyID"),
                                       takedown: try r.bool("takedown"), time: time, request: try b64("request"))
            case "contribution":
                var f = try r.object("files")
                var files = [String: String]()
                for name in BundleLayout.subjectFiles {
                    let sha = try f.string(name)
                    // Digests name blobs readers fetch and exporters write: never a path.
                    guard Hex.isLowerHex(sha, byteCount: 32) else { throw LogError.badEntry("files.\(name) must be 64 lower-case hex digits") }
                    files[name] = sha
                }
                try f.finish()
                entry = .contribution(organisation: try r.string("organisation"), keyID: try r.string("keyID"), time: time,
                                      envelope: try b64("envelope"), files: files)
            case "contribution-revocation":
                entry = .contributionRevocation(contribution: try index("contribution"), organisation: try r.string("organisation"),
                                                time: time, request: try b64("request"))
            case "contribution-takedown":
                entry = .contributionTakedown(contribution: try index("contribution"), reason: try r.string("reason"), time: time,
                                              request: try b64("request"))
            case "release":
                let sha = try r.string("manifestSHA256")
                guard Hex.isLowerHex(sha, byteCount: 32) else { throw LogError.badEntry("manifestSHA256 must be 64 lower-case hex digits") }
                entry = .release(number: try r.int("release", in: 1...Int(Int32.max)), time: time, manifestSHA256: sha)
            case let other:
                throw LogError.badEntry("unknown entry type \"\(other)\"")
            }
            try r.finish()
            // Canonical form only: the bytes must be exactly what we would write.
            guard entry.bytes == bytes else { throw LogError.badEntry("entry is not in canonical form") }
            return entry
        } catch let e as JSONSchemaError {
            throw LogError.badEntry(e.description)
        }
    }
}

public enum LogError: CodedError, Equatable {
    case badEntry(String)
    case inconsistent(String)
    case corrupt(String)

    public var code: String {
        switch self {
        case .badEntry: return "log.bad_entry"
        case .inconsistent: return "log.inconsistent"
        case .corrupt: return "log.corrupt"
        }
    }

    public var message: String {
        switch self {
        case let .badEntry(why): return "log entry is malformed: \(why)"
        case let .inconsistent(why): return "log is inconsistent: \(why)"
        case let .corrupt(why): return "log storage is corrupt: \(why)"
        }
    }
}
