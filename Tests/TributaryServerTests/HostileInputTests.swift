import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TributaryClient
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// A catalogue of hostile requests: each gets its documented error, and the server's state — log,
/// contributions, keys, blobs — is exactly what it was.
@Suite(.serialized) struct HostileInputTests: HostileCatalogue {
    static func tar(_ name: String, size: UInt64 = 0, type: UInt8 = UInt8(ascii: "0"), content: [UInt8] = []) -> [UInt8] {
        var out = BundleArchive.header(name: name, size: size, typeflag: type) + content
        if content.count % 512 != 0 { out += [UInt8](repeating: 0, count: 512 - content.count % 512) }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    /// The archive bytes of a freshly signed acme bundle's first entry (its envelope, padded).
    static func firstEntry(_ f: Fixture) async throws -> [UInt8] {
        let dir = try f.signedBundle("acme")
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/envelope.json")[.size] as? Int ?? 0
        return Array(try await BundleArchive.bytes(directory: dir).prefix(512 + (size + 511) / 512 * 512))
    }

    static func request(_ action: String, _ params: JSONValue, key: SigningKey, now: String = Timestamp.nowRFC3339()) -> [UInt8] {
        SignedRequest.make(origin: Fixture.origin, action: action, parameters: params, key: key, now: now)
    }

    static let cases: [Hostile] = [
        // Oversized and malformed bodies.
        Hostile(label: "5 MB JSON body", status: 413, code: "upload.too_large") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"" + String(repeating: "a", count: 5 << 20) + "\"}"))
        },
        Hostile(label: "malformed JSON", status: 400, code: "api.bad_request") { _, s, _ in try await raw(s, .POST, "/v1/route", json("{\"text\": ")) },
        Hostile(label: "duplicate JSON keys", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/score", json("{\"text\":\"a\",\"text\":\"b\"}"))
        },
        Hostile(label: "JSON nested 1000 deep", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json(String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)))
        },
        Hostile(label: "non-UTF-8 body", status: 400, code: "api.bad_request") { _, s, _ in try await raw(s, .POST, "/v1/score", [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
        Hostile(label: "JSON array instead of object", status: 400, code: "api.bad_request") { _, s, _ in try await raw(s, .POST, "/v1/route", json("[1,2]")) },
        Hostile(label: "text longer than 64 KB", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"" + String(repeating: "b", count: 70_000) + "\"}"))
        },
        Hostile(label: "batch of 10,000 texts", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", JSONWriter.serialize(.object([("texts", .array(Array(repeating: .string("x"), count: 10_000)))])))
        },
        Hostile(label: "maxTokens of a billion", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/generate", json("{\"prompt\":\"a\",\"maxTokens\":1000000000}"))
        },
        Hostile(label: "embedding of the wrong dimension", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"embedding\":[1,2,3]}"))
        },
        Hostile(label: "embedding with 1e999", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"embedding\":[1e999]}"))
        },
        // Huge and negative integers.
        Hostile(label: "huge integer in a query", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/log/entries?start=99999999999999999999999999&end=1")
        },
        Hostile(label: "negative integer in a query", status: 400, code: "api.bad_request") { _, s, _ in try await raw(s, .GET, "/v1/log/entries?start=-1&end=1") },
        Hostile(label: "inclusion index beyond the size", status: 400, code: nil) { _, s, _ in try await raw(s, .GET, "/v1/log/proof/inclusion?index=3&size=2") },
        Hostile(label: "consistency first > second", status: 400, code: "log.bad_range") { _, s, _ in try await raw(s, .GET, "/v1/log/proof/consistency?first=3&second=1") },
        Hostile(label: "more than 1000 entries at once", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/log/entries?start=0&end=1000000")
        },
        // Path tricks.
        Hostile(label: "blob path traversal", status: 404, code: nil) { _, s, _ in try await raw(s, .GET, "/v1/blobs/..%2F..%2Flog.key") },
        Hostile(label: "blob that is not a digest", status: 404, code: "api.not_found") { _, s, _ in try await raw(s, .GET, "/v1/blobs/log.key") },
        Hostile(label: "release file outside the release", status: 404, code: nil) { _, s, _ in try await raw(s, .GET, "/v1/releases/1/files/..%2F..%2Flog.key") },
        Hostile(label: "anchor file that is not public", status: 404, code: "api.not_found") { _, s, _ in try await raw(s, .GET, "/v1/anchor/files/log.key") },
        Hostile(label: "unknown route", status: 404, code: nil) { _, s, _ in try await raw(s, .GET, "/v1/secrets") },
        // Hostile archives.
        Hostile(label: "tar entry ../statement.json", status: 400, code: "upload.bad_name") { _, s, _ in try await upload(s, tar("../statement.json")) },
        Hostile(label: "tar entry /etc/passwd", status: 400, code: "upload.bad_name") { _, s, _ in try await upload(s, tar("/etc/passwd")) },
        Hostile(label: "zip-slip ../../etc/cron.d/x", status: 400, code: "upload.bad_name") { _, s, _ in try await upload(s, tar("../../etc/cron.d/x")) },
        Hostile(label: "tar entry in a subdirectory", status: 400, code: "upload.bad_name") { _, s, _ in try await upload(s, tar("a/expert.safetensors")) },
        Hostile(label: "tar entry with a control character", status: 400, code: "upload.bad_name") { _, s, _ in try await upload(s, tar("expert\u{1}.safetensors")) },
        Hostile(label: "tar hard link", status: 400, code: "upload.bad_entry_type") { _, s, _ in try await upload(s, tar("envelope.json", type: UInt8(ascii: "1"))) },
        Hostile(label: "tar device node", status: 400, code: "upload.bad_entry_type") { _, s, _ in try await upload(s, tar("envelope.json", type: UInt8(ascii: "3"))) },
        Hostile(label: "tar directory", status: 400, code: "upload.bad_entry_type") { _, s, _ in try await upload(s, tar("envelope.json", type: UInt8(ascii: "5"))) },
        Hostile(label: "tar pax header", status: 400, code: "upload.bad_entry_type") { _, s, _ in try await upload(s, tar("PaxHeaders/x", type: UInt8(ascii: "x"))) },
        Hostile(label: "tar bomb: 6 GB envelope declared", status: 413, code: "upload.file_too_large") { _, s, _ in
            try await upload(s, BundleArchive.header(name: "envelope.json", size: 6 << 30))
        },
        Hostile(label: "tar bomb: 6 GB expert declared after a valid envelope", status: 413, code: "upload.file_too_large") { f, s, _ in
            try await upload(s, try await firstEntry(f) + BundleArchive.header(name: "expert.safetensors", size: 6 << 30))
        },
        Hostile(label: "tar bomb: the envelope twice", status: 400, code: "upload.duplicate_entry") { f, s, _ in
            let first = try await firstEntry(f)
            try await upload(s, first + first)
        },
        Hostile(label: "empty upload", status: 400, code: "upload.truncated") { _, s, _ in try await upload(s, []) },
        Hostile(label: "bad tar checksum", status: 400, code: "upload.bad_archive") { _, s, _ in
            var t = tar("statement.json")
            t[148] = UInt8(ascii: "7")
            try await upload(s, t)
        },
        // Signed requests.
        Hostile(label: "replayed revocation", status: 409, code: "request.replayed") { f, s, acme in
            // The first use succeeds in `prepare`; this sends the same bytes again.
            _ = f
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation", try readSmallFile(NSTemporaryDirectory() + "tributary-hostile-replay-\(s.port)", limit: 1 << 20))
        },
        Hostile(label: "stale signed request", status: 400, code: "request.stale") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          request("revoke-contribution", .object([("contribution", .uint64(acme))]), key: f.orgs["acme"]!.key, now: "2020-01-01T00:00:00Z"))
        },
        Hostile(label: "request for another action", status: 400, code: "request.wrong_action") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          request("revoke-key", .object([("contribution", .uint64(acme))]), key: f.orgs["acme"]!.key))
        },
        Hostile(label: "request by an unknown key", status: 403, code: "request.unknown_key") { _, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          request("revoke-contribution", .object([("contribution", .uint64(acme))]), key: try SigningKey.generate(name: "acme")))
        },
        Hostile(label: "key of one organisation revoking another's contribution", status: 403, code: "request.forbidden") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          request("revoke-contribution", .object([("contribution", .uint64(acme))]), key: f.orgs["globex"]!.key))
        },
        Hostile(label: "bundle signed by one organisation for another", status: 400, code: "bundle.key_mismatch") { f, s, _ in
            let dir = try f.signedBundle("acme")
            let statement = try String(contentsOfFile: dir + "/statement.json", encoding: .utf8).replacingOccurrences(of: "\"organisation\":\"acme\"", with: "\"organisation\":\"globex\"")
            try AtomicFileWriter.write(Array(statement.utf8), to: dir + "/statement.json")
            let env = DSSEEnvelope.sign(payload: Array(statement.utf8), payloadType: DSSEEnvelope.inTotoPayloadType, key: f.orgs["acme"]!.key)
            try AtomicFileWriter.write(env.serialized(), to: dir + "/envelope.json")
            try await upload(s, try await BundleArchive.bytes(directory: dir))
        },
        Hostile(label: "enrolment not signed by the operator", status: 403, code: "request.key_mismatch") { _, s, _ in
            let k = try SigningKey.generate(name: "intruder")
            try await raw(s, .POST, "/v1/admin/enrolments", request("enrol", .object([("verifierKey", .string(k.verifierKey.encoded))]), key: k))
        },
        Hostile(label: "enrolment of an invalid key", status: 400, code: "key.invalid") { f, s, _ in
            try await raw(s, .POST, "/v1/admin/enrolments", request("enrol", .object([("verifierKey", .string("acme+00000000+AAAA"))]), key: f.operatorKey))
        },
        Hostile(label: "signed request with an extra field", status: 400, code: "request.malformed") { f, s, acme in
            let payload = json("{\"action\":\"revoke-contribution\",\"extra\":1,\"keyID\":\"\(f.orgs["acme"]!.key.verifierKey.keyIDHex)\",\"nonce\":\"\(Hex.encode(secureRandomBytes(32)))\",\"organisation\":\"acme\",\"parameters\":{\"contribution\":\(acme)},\"timestamp\":\"\(Timestamp.nowRFC3339())\"}")
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          DSSEEnvelope.sign(payload: payload, payloadType: SignedRequest.payloadType, key: f.orgs["acme"]!.key).serialized())
        },
        Hostile(label: "revocation of a non-contribution index", status: 404, code: "api.not_found") { f, s, _ in
            try await raw(s, .POST, "/v1/contributions/0/revocation", request("revoke-contribution", .object([("contribution", .int(0))]), key: f.orgs["acme"]!.key))
        },
    ]

    @Test func catalogue() async throws {
        #expect(Self.cases.count >= 30)
        let scene = try await ServerScene.start("hostile")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s, dir = scene.dir
        let acme = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        _ = try await s.server.releases.publish(force: true)
        // A revocation used once (by globex's own contribution, so acme's stays live for the other cases).
        let globex = try await s.client.submit(bundle: try f.signedBundle("globex")).logIndex
        let once = Self.request("revoke-contribution", .object([("contribution", .uint64(globex))]), key: f.orgs["globex"]!.key)
        _ = try await s.client.postBytes("/v1/contributions/\(globex)/revocation", once)
        let replay = Self.request("revoke-contribution", .object([("contribution", .uint64(acme))]), key: f.orgs["acme"]!.key)
        try AtomicFileWriter.write(replay, to: NSTemporaryDirectory() + "tributary-hostile-replay-\(s.port)")
        _ = try await s.client.postBytes("/v1/contributions/\(acme)/revocation", replay)
        defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "tributary-hostile-replay-\(s.port)") }

        let refused = try await Self.expectRefused(Self.cases, f, s, dir: dir, acme: acme)
        print("hostile catalogue: \(refused) of \(Self.cases.count) requests refused with their documented errors; state unchanged")
    }

    /// A client that sends its headers and part of a body, then nothing: the connection is closed by
    /// the idle timeout, within bounded time, and nothing is stored.
    @Test func slowLorisUploadIsCutOff() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("loris")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = f.serverConfig(dir)
        config.idleTimeoutSeconds = 2
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        let before = try await Self.state(s, dir)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(s.port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(connected == 0)
        let partial = "POST /v1/contributions HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "\0", count: 700)
        _ = partial.withCString { send(fd, $0, 104 + 700, 0) }
        var tv = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var n = 1
        while n > 0 { n = recv(fd, &buffer, buffer.count, 0) }
        let waited = Date().timeIntervalSince(start)
        #expect(waited < 10, "the stalled connection stayed open \(waited) s")
        #expect(try await Self.state(s, dir) == before)
        #expect(listing(dir + "/tmp").isEmpty)
    }
}
