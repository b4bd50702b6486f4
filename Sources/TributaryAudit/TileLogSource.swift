import Foundation
import TributaryClient
import TributaryCore
import TributaryLog

/// A log read the way a static mirror serves it (C2SP tlog-tiles): the checkpoint, entry bundles
/// and hash tiles, every proof computed by the auditor itself. The proof endpoints are never asked.
/// Releases, blobs and anchor files still come from the server's file endpoints (static files too).
public struct TileLogSource: LogSource {
    public let client: TributaryClient
    let reader: TileLogReader

    public init(client: TributaryClient) {
        self.client = client
        reader = TileLogReader(client: client)
    }

    public var description: String { client.base + " (tiles)" }

    public func checkpoint() async throws -> [UInt8] { try await client.checkpoint() }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        do { return try await reader.entries(start: start, end: end) } catch let e as TileError {
            throw AuditFailure.source("entry bundles for [\(start), \(end)): \(e.message)")
        }
    }

    /// Computed from the tiles of the tree of size `second` (the checkpoint's).
    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]]? {
        try await reader.consistencyProof(first: first, second: second)
    }

    public func fetch(_ item: String, to destination: String) async throws {
        try await ServerLogSource(client: client).fetch(item, to: destination)
    }
}
