import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TributaryClient
@testable import TributaryServer

/// One hostile request of a catalogue: the status and code it must get, and how to send it (given the
/// fixture, the server and a live contribution's log index).
struct HostileCase: Sendable {
    let label: String
    let status: Int
    let code: String?
    let send: @Sendable (Fixture, RunningServer, UInt64) async throws -> Void
}

/// What the hostile-input catalogues share: raw requests, and the server's observable state, which
/// every refused case must leave exactly as it was.
protocol HostileCatalogue {}

extension HostileCatalogue {
    typealias Hostile = HostileCase

    static func raw(_ s: RunningServer, _ method: HTTPMethod, _ path: String, _ body: [UInt8]? = nil, type: String = "application/json") async throws {
        _ = try await s.client.send(method, path, body: body.map { .bytes(ByteBuffer(bytes: $0)) }, contentType: type)
    }

    static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func upload(_ s: RunningServer, _ bytes: [UInt8]) async throws { try await raw(s, .POST, "/v1/contributions", bytes, type: "application/x-tar") }

    /// Sends every case: each must be refused with its status (and its code, where it names one) and
    /// leave the server's state as it was; `after` adds a case's own checks. Returns how many were refused.
    static func expectRefused(_ cases: [Hostile], _ f: Fixture, _ s: RunningServer, dir: String, acme: UInt64,
                              after: (Hostile) async throws -> Void = { _ in }) async throws -> Int {
        let before = try await state(s, dir)
        var refused = 0
        for c in cases {
            do {
                try await c.send(f, s, acme)
                Issue.record("\(c.label): accepted")
            } catch let e as RemoteError {
                #expect(e.status == c.status, "\(c.label): HTTP \(e.status) \(e.code) \(e.message)")
                if let code = c.code { #expect(e.code == code, "\(c.label): \(e.code) \(e.message)") }
                refused += 1
            }
            #expect(try await state(s, dir) == before, "\(c.label): state changed")
            try await after(c)
        }
        return refused
    }

    /// Log size, contributions (revoked, taken down), keys (retired, revoked), blobs and nonces.
    static func state(_ s: RunningServer, _ dir: String) async throws -> String {
        let size = await s.server.store.logSize
        let contributions = try await s.server.store.allContributions().map { "\($0.logIndex):\($0.revokedAt.map(String.init) ?? "-"):\($0.takenDownAt.map(String.init) ?? "-")" }
        let keys = try await s.server.store.keys().map { "\($0.organisation)/\($0.keyID):\($0.retiredAt.map(String.init) ?? "-"):\($0.revokedAt.map(String.init) ?? "-")" }
        return "\(size) \(contributions) \(keys) \(listing(dir + "/blobs").keys.sorted()) nonces \(await s.server.store.nonceCount)"
    }
}
