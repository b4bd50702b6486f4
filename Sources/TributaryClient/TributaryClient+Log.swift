import TributaryAPI
import TributaryCore
import TributaryLog

/// The transparency log: its key, checkpoint, entries and proofs.
extension TributaryClient {
    /// The server's log origin and checkpoint key, as the server says (pin the key where you can).
    public func logKey() async throws -> LogKeyAnswer { try LogKeyAnswer(json: try await getJSON(APIPath.logKey)) }

    /// The server's log origin: what statements and signed requests for it must name.
    public func origin() async throws -> String { try await logKey().origin }

    public func checkpoint() async throws -> [UInt8] { try await send(.GET, APIPath.checkpoint).body }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        try LogEntriesAnswer(json: try await getJSON(APIPath.logEntries(start: start, end: end))).entries
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] {
        try InclusionProofAnswer(json: try await getJSON(APIPath.inclusionProof(index: index, size: size))).proof
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]] {
        try ConsistencyProofAnswer(json: try await getJSON(APIPath.consistencyProof(first: first, second: second))).proof
    }
}
