import Foundation
import TributaryCore

/// One entry of the transparency log: canonical JSON bytes (sorted keys, compact); the leaf hash is
/// SHA-256(0x00 || bytes). Signed material (envelopes, requests) is carried as base64 of its exact bytes
/// so anyone can re-verify it.
public enum LogEntry: Equatable, Sendable {
    /// The operator enrols an organisation's verifier key.
    case enrolment(organisation: String, verifierKey: String, time: String, request: [UInt8]?)
    /// A key is revoked (by its organisation or the operator); contributions it signed stay valid.
    case keyRevocation(organisation: String, keyID: String, time: String, request: [UInt8]?)
    /// An accepted contribution: its envelope (whose payload is the statement) and file digests.
    case contribution(organisation: String, keyID: String, time: String, envelope: [UInt8], files: [String: String])
    /// A contribution withdrawn by its owner (opt-out): `request` is the owner's signed request.
    case contributionRevocation(contribution: UInt64, organisation: String, time: String, request: [UInt8])
    /// A published release: the manifest envelope signed by the log key.
    case release(number: Int, time: String, manifest: [UInt8])

    public var type: String {
        switch self {
        case .enrolment: return "enrolment"
        case .keyRevocation: return "key-revocation"
        case .contribution: return "contribution"
        case .contributionRevocation: return "contribution-revocation"
        case .release: return "release"
        }
    }

    public var json: JSONValue {
        switch self {
        case let .enrolment(org, vk, time, req):
            return .object([("type", .string(type)), ("organisation", .string(org)), ("verifierKey", .string(vk)),
                            ("time", .string(time)), ("request", req.map { .string(Base64.encode($0)) } ?? .null)])
        case let .keyRevocation(org, kid, time, req):
            return .object([("type", .string(type)), ("organisation", .string(org)), ("keyID", .string(kid)),
                            ("time", .string(time)), ("request", req.map { .string(Base64.encode($0)) } ?? .null)])
        case let .contribution(org, kid, time, env, files):
            return .object([("type", .string(type)), ("organisation", .string(org)), ("keyID", .string(kid)), ("time", .string(time)),
                            ("envelope", .string(Base64.encode(env))),
                            ("files", .object(files.keys.sorted().map { ($0, .string(files[$0]!)) }))])
        case let .contributionRevocation(c, org, time, req):
            return .object([("type", .string(type)), ("contribution", .uint64(c)), ("organisation", .string(org)),
                            ("time", .string(time)), ("request", .string(Base64.encode(req)))])
        case let .release(n, time, manifest):
            return .object([("type", .string(type)), ("release", .int(n)), ("time", .string(time)),
                            ("manifest", .string(Base64.encode(manifest)))])
        }
    }

    public var bytes: [UInt8] { JSONWriter.serialize(json) }
    public var leafHash: [UInt8] { MerkleHash.leaf(bytes) }

    public static func parse(_ bytes: [UInt8]) throws -> LogEntry {
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes) } catch { throw LogError.badEntry("\(error)") }
        do {
            var r = try JSONObjectReader(json, path: "entry")
            func b64(_ s: String, _ field: String) throws -> [UInt8] {
                guard let v = Base64.decodeStandard(s) else { throw LogError.badEntry("\(field) is not base64") }
                return v
            }
            let entry: LogEntry
            switch try r.string("type") {
            case "enrolment":
                entry = .enrolment(organisation: try r.string("organisation"), verifierKey: try r.string("verifierKey"),
                                   time: try r.string("time"), request: try r.optionalString("request").map { try b64($0, "request") })
            case "key-revocation":
                entry = .keyRevocation(organisation: try r.string("organisation"), keyID: try r.string("keyID"), time: try r.string("time"),
                                       request: try r.optionalString("request").map { try b64($0, "request") })
            case "contribution":
                var f = try r.object("files")
                var files = [String: String]()
                for name in BundleLayout.subjectFiles { files[name] = try f.string(name) }
                try f.finish()
                entry = .contribution(organisation: try r.string("organisation"), keyID: try r.string("keyID"), time: try r.string("time"),
                                      envelope: try b64(try r.string("envelope"), "envelope"), files: files)
            case "contribution-revocation":
                guard case let .number(t) = try r.value("contribution"), let c = UInt64(t) else { throw LogError.badEntry("contribution index") }
                entry = .contributionRevocation(contribution: c, organisation: try r.string("organisation"), time: try r.string("time"),
                                                request: try b64(try r.string("request"), "request"))
            case "release":
                entry = .release(number: try r.int("release"), time: try r.string("time"), manifest: try b64(try r.string("manifest"), "manifest"))
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
