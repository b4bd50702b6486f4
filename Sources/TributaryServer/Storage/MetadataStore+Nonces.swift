import Foundation
import TributaryCore
import TributaryLog

/// Signed requests' nonces (SPEC §7.3): each is used once, and forgotten once no request could
/// replay it.
extension MetadataStore {
    /// A nonce outlives its request's validity: a request is accepted only within ±skew of the
    /// server's clock, so after twice that plus a margin its nonce cannot come back unrefused.
    static let nonceRetentionSeconds = 3 * SignedRequest.maxSkewSeconds

    /// Marks a signed request's nonce used; a second use is a replay.
    func useNonce(_ nonce: String) throws {
        do {
            try db.run("INSERT INTO request_nonces (nonce, seen_at) VALUES (?, ?)", [.text(nonce), .int(Int64(Date().timeIntervalSince1970))])
        } catch StoreError.constraint {
            throw RequestError.replayed
        }
    }

    /// Records a nonce on its own (a request whose effect is not a single log entry).
    public func recordNonce(_ nonce: String) throws {
        try db.transaction { try useNonce(nonce) }
    }

    public func nonceUsed(_ nonce: String) throws -> Bool {
        try db.first("SELECT 1 FROM request_nonces WHERE nonce = ?", [.text(nonce)], { _ in true }) ?? false
    }

    /// Forgets nonces no request can replay any more; returns how many.
    @discardableResult
    public func pruneNonces(now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> Int {
        appendsSincePrune = 0
        let before = try db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) }) ?? 0
        try db.run("DELETE FROM request_nonces WHERE seen_at < ?", [.int(now - Self.nonceRetentionSeconds)])
        return before - (try db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) }) ?? 0)
    }

    public var nonceCount: Int { (try? db.first("SELECT COUNT(*) FROM request_nonces", [], { Int($0.int(0)) })) ?? 0 }
}
