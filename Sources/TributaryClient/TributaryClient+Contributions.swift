import NIOCore
import TributaryAPI
import TributaryCore
import TributaryLog

/// Contributions: upload, look up, withdraw; and the signed requests every append endpoint takes.
extension TributaryClient {
    /// Uploads a signed bundle directory as a streamed ustar archive.
    public func submit(bundle directory: String) async throws -> ContributionReceipt {
        let chunks = try BundleArchive.chunks(directory: directory).map { ByteBuffer(bytes: $0) }
        let r = try await send(.POST, APIPath.contributions, body: .stream(chunks, length: .unknown), contentType: "application/x-tar")
        return try ContributionReceipt(json: try StrictJSONParser.parse(r.body))
    }

    public func contribution(_ index: UInt64) async throws -> ContributionAnswer {
        try ContributionAnswer(json: try await getJSON(APIPath.contribution(index)))
    }

    /// The contribution whose statement has this SHA-256 (404 when none was logged).
    public func contribution(statementSHA256: String) async throws -> ContributionAnswer {
        try ContributionAnswer(json: try await getJSON(APIPath.contribution(statementSHA256: statementSHA256)))
    }

    /// Opt-out: the owner withdraws its contribution.
    public func revokeContribution(_ index: UInt64, key: SigningKey, origin: String? = nil) async throws -> AppendAnswer {
        try await append(APIPath.contributionRevocation(index), .revokeContribution(contribution: index), key: key, origin: origin)
    }

    /// A signed request (SPEC §11.4) for the log `origin` (asked from the server when nil).
    func request(_ action: SignedAction, key: SigningKey, origin: String?) async throws -> [UInt8] {
        let o: String
        if let origin { o = origin } else { o = try await self.origin() }
        return SignedRequest.make(origin: o, action: action, key: key)
    }

    /// Posts a signed request to an endpoint that answers with the entry it appended.
    func append(_ path: String, _ action: SignedAction, key: SigningKey, origin: String?) async throws -> AppendAnswer {
        try AppendAnswer(json: try await postBytes(path, try await request(action, key: key, origin: origin)))
    }
}
