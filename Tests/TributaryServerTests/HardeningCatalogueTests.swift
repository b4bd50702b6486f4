import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
@testable import TributaryServer
import TributaryTestSupport

/// The second hostile catalogue (issue 13): numbers that would trap, work before authentication,
/// material signed for another deployment, identities and keys, privacy claims that do not add up.
/// Every case gets its documented code and status, the server's state — log, contributions,
/// takedowns, keys, blobs, staging — is exactly what it was, and the server still answers.
@Suite(.serialized) struct HardeningCatalogueTests: HostileCatalogue {
    /// A signed acme bundle's archive bytes, optionally altered before signing, for another origin
    /// or another creation time.
    static func archive(_ f: Fixture, origin: String = Fixture.origin, createdAt: String? = nil,
                        mutate: ((String) throws -> Void)? = nil) async throws -> [UInt8] {
        let dir: String
        if let createdAt {
            dir = scratchDirectory("bundle")
            for name in BundleLayout.subjectFiles {
                try FileManager.default.copyItem(atPath: f.orgs["acme"]!.unsignedBundle + "/" + name, toPath: dir + "/" + name)
            }
            try mutate?(dir)
            try ContributionBundle.sign(directory: dir, key: f.orgs["acme"]!.key, origin: origin, createdAt: createdAt)
        } else {
            dir = try f.signedBundle("acme", origin: origin, mutate: mutate)
        }
        return try await BundleArchive.bytes(directory: dir)
    }

    /// The first archive entry (the envelope) of `bytes`, padded.
    static func firstEntry(_ bytes: [UInt8]) -> [UInt8] {
        let size = Int(String(decoding: bytes[124..<135], as: UTF8.self), radix: 8) ?? 0
        return Array(bytes.prefix(512 + (size + 511) / 512 * 512))
    }

    /// An envelope with `count` signatures over acme's real statement, as the first archive entry.
    static func envelopeWithSignatures(_ f: Fixture, _ count: Int) async throws -> [UInt8] {
        let dir = try f.signedBundle("acme")
        let env = try DSSEEnvelope.parse(try readSmallFile(dir + "/envelope.json", limit: 1 << 20))
        let many = DSSEEnvelope(payloadType: env.payloadType, payload: env.payload,
                                signatures: Array(repeating: env.signatures[0], count: count)).serialized()
        var out = BundleArchive.header(name: "envelope.json", size: UInt64(many.count)) + many
        if many.count % 512 != 0 { out += [UInt8](repeating: 0, count: 512 - many.count % 512) }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    /// Another expert than the fixture's (an exact repeat is a duplicate): one weight nudged.
    static func nudgeExpert(_ dir: String) throws {
        let file = try SafetensorsFile(path: dir + "/expert.safetensors")
        var w = SafetensorsWriter(metadata: file.metadata)
        for (i, t) in file.tensors.enumerated() {
            var v = try file.floats(t)
            if i == 0 { v[0] += 1e-3 }
            w.add(t.name, shape: t.shape, values: v)
        }
        try w.write(to: dir + "/expert.safetensors")
    }

    /// Rewrites routing.safetensors's privacy metadata (the bundle is signed after).
    static func editPrivacy(_ dir: String, _ edit: (inout PrivacyParameters) -> Void) throws {
        let path = dir + "/" + BundleLayout.routingFile
        let file = try SafetensorsFile(path: path)
        var params = try RoutingParameters(json: try StrictJSONParser.parse(Array(file.metadata[BundleLayout.routingMetadataKey]!.utf8)),
                                           path: "routing")
        edit(&params.privacy)
        var w = SafetensorsWriter(metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(params.json)])
        for t in file.tensors { w.add(t.name, shape: t.shape, values: try file.floats(t)) }
        try w.write(to: path)
    }

    static func request(_ f: Fixture, _ action: String, _ params: [(String, JSONValue)], key: SigningKey? = nil,
                        origin: String = Fixture.origin, now: String = Timestamp.nowRFC3339()) -> [UInt8] {
        f.request(action, params, key: key, origin: origin, now: now)
    }

    static let cases: [Hostile] = [
        // §1 Numbers that would trap or make a computation non-finite.
        Hostile(label: "log index 2^64 − 1 in a path", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/contributions/18446744073709551615")
        },
        Hostile(label: "log index 2^63 in a path", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/contributions/9223372036854775808")
        },
        Hostile(label: "log index beyond 64 bits in a revocation path", status: 400, code: "api.bad_request") { f, s, _ in
            try await raw(s, .POST, "/v1/contributions/99999999999999999999/revocation", request(f, "revoke-contribution", [("contribution", .int(0))]))
        },
        Hostile(label: "release number 0", status: 400, code: "api.bad_request") { _, s, _ in try await raw(s, .GET, "/v1/releases/0") },
        Hostile(label: "release number beyond 64 bits", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/releases/99999999999999999999999/files/manifest.json")
        },
        Hostile(label: "routing temperature 0 (weights would be NaN)", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"int x;\",\"temperature\":0}"))
        },
        Hostile(label: "routing temperature subnormal 1e-320", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"int x;\",\"temperature\":1e-320}"))
        },
        Hostile(label: "routing temperature 1e400 (not finite)", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"int x;\",\"temperature\":1e400}"))
        },
        Hostile(label: "generation temperature −1", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/generate", json("{\"prompt\":\"a\",\"temperature\":-1}"))
        },
        Hostile(label: "generation beyond the server's token limit", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/generate", json("{\"prompt\":\"a\",\"maxTokens\":100000}"))
        },
        Hostile(label: "seed beyond 64 bits", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/generate", json("{\"prompt\":\"a\",\"seed\":123456789012345678901234567890}"))
        },
        Hostile(label: "topK 0", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"a\",\"topK\":0}"))
        },
        Hostile(label: "two queries in one routing request", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/route", json("{\"text\":\"a\",\"texts\":[\"b\"]}"))
        },
        Hostile(label: "a field the endpoint does not read", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .POST, "/v1/score", json("{\"text\":\"a\",\"routing\":\"rows\"}"))
        },
        Hostile(label: "log range far beyond the log", status: 400, code: "api.bad_request") { _, s, _ in
            try await raw(s, .GET, "/v1/log/entries?start=18446744073709551615&end=18446744073709551615")
        },
        // §2 Work before authentication is bounded.
        Hostile(label: "archive that does not start with the envelope", status: 400, code: "upload.envelope_not_first") { f, s, _ in
            let a = try await archive(f)
            let first = firstEntry(a)
            try await upload(s, Array(a[first.count...]))
        },
        Hostile(label: "envelope with 9 signatures", status: 400, code: "envelope.too_many_signatures") { f, s, _ in
            try await upload(s, try await envelopeWithSignatures(f, 9))
        },
        Hostile(label: "envelope by an unknown key, bulk declared but never read", status: 403, code: "contribution.unknown_key") { f, s, _ in
            let dir = try f.signedBundle("acme", signer: try SigningKey.generate(name: "mallory"))
            let first = firstEntry(try await BundleArchive.bytes(directory: dir))
            try await upload(s, first + BundleArchive.header(name: "expert.safetensors", size: 1 << 30))
        },
        Hostile(label: "already-logged bundle, refused by digest before the bulk", status: 409, code: "contribution.duplicate") { f, s, _ in
            let logged = try #require(try await s.server.store.allContributions().first)
            let envelope = try readSmallFile(s.server.blobs.path(logged.envelopeSHA256), limit: 1 << 20)
            var out = BundleArchive.header(name: "envelope.json", size: UInt64(envelope.count)) + envelope
            if envelope.count % 512 != 0 { out += [UInt8](repeating: 0, count: 512 - envelope.count % 512) }
            try await upload(s, out + BundleArchive.header(name: "expert.safetensors", size: 1 << 30))
        },
        // §3 Every signature is bound to one deployment.
        Hostile(label: "statement for another deployment", status: 422, code: "contribution.wrong_origin") { f, s, _ in
            try await upload(s, try await archive(f, origin: "elsewhere.example/log"))
        },
        Hostile(label: "statement created 40 days ago", status: 422, code: "contribution.stale") { f, s, _ in
            try await upload(s, try await archive(f, createdAt: Timestamp.formatRFC3339(Int64(Date().timeIntervalSince1970) - 40 * 86_400)))
        },
        Hostile(label: "statement created an hour from now", status: 422, code: "contribution.stale") { f, s, _ in
            try await upload(s, try await archive(f, createdAt: Timestamp.formatRFC3339(Int64(Date().timeIntervalSince1970) + 3600)))
        },
        Hostile(label: "signed request for another deployment", status: 403, code: "request.wrong_origin") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation",
                          request(f, "revoke-contribution", [("contribution", .uint64(acme))], key: f.orgs["acme"]!.key, origin: "elsewhere.example/log"))
        },
        Hostile(label: "signed request of the old payload type", status: 400, code: "request.wrong_type") { f, s, acme in
            let env = try DSSEEnvelope.parse(request(f, "revoke-contribution", [("contribution", .uint64(acme))], key: f.orgs["acme"]!.key))
            let old = DSSEEnvelope.sign(payload: env.payload, payloadType: "application/vnd.tributary.request+json", key: f.orgs["acme"]!.key)
            try await raw(s, .POST, "/v1/contributions/\(acme)/revocation", old.serialized())
        },
        // §4 Identities and keys.
        Hostile(label: "enrolment of a name that is not canonical", status: 400, code: "identity.not_canonical") { f, s, _ in
            let k = try SigningKey.generate(name: "Acme")
            try await raw(s, .POST, "/v1/admin/enrolments", request(f, "enrol", [("verifierKey", .string(k.verifierKey.encoded))]))
        },
        Hostile(label: "enrolment of a Unicode look-alike", status: 400, code: "identity.not_canonical") { f, s, _ in
            let k = try SigningKey.generate(name: "\u{0430}cme")  // Cyrillic a
            try await raw(s, .POST, "/v1/admin/enrolments", request(f, "enrol", [("verifierKey", .string(k.verifierKey.encoded))]))
        },
        Hostile(label: "a second key for an enrolled organisation", status: 409, code: "identity.organisation_enrolled") { f, s, _ in
            let k = try SigningKey.generate(name: "acme")
            try await raw(s, .POST, "/v1/admin/enrolments", request(f, "enrol", [("verifierKey", .string(k.verifierKey.encoded))]))
        },
        Hostile(label: "rotation signed by the organisation, not the operator", status: 403, code: "request.key_mismatch") { f, s, _ in
            let k = try SigningKey.generate(name: "acme")
            try await raw(s, .POST, "/v1/admin/rotations", request(f, "rotate-key", [("organisation", .string("acme")), ("verifierKey", .string(k.verifierKey.encoded))],
                                                                   key: f.orgs["acme"]!.key))
        },
        Hostile(label: "rotation to a key named otherwise", status: 400, code: "identity.wrong_name") { f, s, _ in
            let k = try SigningKey.generate(name: "mallory")
            try await raw(s, .POST, "/v1/admin/rotations", request(f, "rotate-key", [("organisation", .string("acme")), ("verifierKey", .string(k.verifierKey.encoded))]))
        },
        Hostile(label: "key revocation signed by another organisation", status: 403, code: "request.forbidden") { f, s, _ in
            let id = f.orgs["acme"]!.key.verifierKey.keyIDHex
            try await raw(s, .POST, "/v1/keys/\(id)/revocation", request(f, "revoke-key", [("keyID", .string(id)), ("organisation", .string("acme")), ("takedown", .bool(false))],
                                                                        key: f.orgs["globex"]!.key))
        },
        Hostile(label: "revocation of a key that is not enrolled", status: 404, code: "api.not_found") { f, s, _ in
            try await raw(s, .POST, "/v1/keys/0badc0de/revocation", request(f, "revoke-key", [("keyID", .string("0badc0de")), ("organisation", .string("acme")), ("takedown", .bool(false))]))
        },
        Hostile(label: "takedown by an organisation", status: 403, code: "request.key_mismatch") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/takedown", request(f, "takedown-contribution", [("contribution", .uint64(acme)), ("reason", .string("x"))],
                                                                                 key: f.orgs["acme"]!.key))
        },
        Hostile(label: "takedown without a reason", status: 400, code: "request.malformed") { f, s, acme in
            try await raw(s, .POST, "/v1/contributions/\(acme)/takedown", request(f, "takedown-contribution", [("contribution", .uint64(acme)), ("reason", .string(""))]))
        },
        Hostile(label: "takedown of a log index that is not a contribution", status: 404, code: "api.not_found") { f, s, _ in
            try await raw(s, .POST, "/v1/contributions/1/takedown", request(f, "takedown-contribution", [("contribution", .int(1)), ("reason", .string("x"))]))
        },
        // §5 Privacy claims are recomputed, not believed.
        Hostile(label: "ε claimed below what the noise gives", status: 422, code: "contribution.privacy_policy") { f, s, _ in
            try await upload(s, try await archive(f) { try editPrivacy($0) { $0.epsilon = 0.01 } })
        },
        Hostile(label: "a noise multiplier missing", status: 422, code: "contribution.privacy_policy") { f, s, _ in
            try await upload(s, try await archive(f) { try editPrivacy($0) { $0.noiseMultipliers[.centroidCounts] = nil } })
        },
        Hostile(label: "a zero noise multiplier", status: 422, code: "contribution.privacy_policy") { f, s, _ in
            try await upload(s, try await archive(f) { try editPrivacy($0) { $0.noiseMultipliers[.centroidSums] = 0 } })
        },
    ]

    @Test func catalogue() async throws {
        #expect(Self.cases.count >= 30)
        let scene = try await ServerScene.start("hardening")
        defer { Task { await scene.close() } }
        let f = scene.f, s = scene.s, dir = scene.dir
        let acme = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        _ = try await s.server.releases.publish(force: true)

        let refused = try await Self.expectRefused(Self.cases, f, s, dir: dir, acme: acme) { c in
            #expect(listing(dir + "/tmp").isEmpty, "\(c.label): staging left behind")
            #expect((try? await s.client.health()) == .ok, "\(c.label): the server stopped answering")
        }
        print("hardening catalogue: \(refused) of \(Self.cases.count) requests refused with their documented errors; state unchanged")
    }
}
