/// Every URL path of the HTTP API, named once (protocol/openapi.yaml lists the same): the server
/// registers the `{parameter}` patterns, clients build concrete paths with the functions beside them.
public enum APIPath {
    public static let healthz = "/healthz"
    public static let metrics = "/metrics"
    public static let checkpoint = "/checkpoint"
    /// C2SP tlog-tiles; the tile paths themselves are `TilePath`'s.
    public static let tiles = "/tile/**"

    public static let logKey = "/v1/log/key"
    public static let logEntries = "/v1/log/entries"
    public static func logEntries(start: UInt64, end: UInt64) -> String { "\(logEntries)?start=\(start)&end=\(end)" }
    public static let inclusionProof = "/v1/log/proof/inclusion"
    public static func inclusionProof(index: UInt64, size: UInt64) -> String { "\(inclusionProof)?index=\(index)&size=\(size)" }
    public static let consistencyProof = "/v1/log/proof/consistency"
    public static func consistencyProof(first: UInt64, second: UInt64) -> String { "\(consistencyProof)?first=\(first)&second=\(second)" }

    public static let contributions = "/v1/contributions"
    public static func contribution(statementSHA256: String) -> String { "\(contributions)?statementSHA256=\(statementSHA256)" }
    public static let contribution = "/v1/contributions/{index}"
    public static func contribution(_ index: UInt64) -> String { "/v1/contributions/\(index)" }
    public static let contributionRevocation = "/v1/contributions/{index}/revocation"
    public static func contributionRevocation(_ index: UInt64) -> String { "/v1/contributions/\(index)/revocation" }
    public static let contributionTakedown = "/v1/contributions/{index}/takedown"
    public static func contributionTakedown(_ index: UInt64) -> String { "/v1/contributions/\(index)/takedown" }

    public static let enrolments = "/v1/admin/enrolments"
    public static let rotations = "/v1/admin/rotations"
    public static let keys = "/v1/keys"
    public static let keyRevocation = "/v1/keys/{keyID}/revocation"
    public static func keyRevocation(_ keyID: String) -> String { "/v1/keys/\(keyID)/revocation" }
    public static let policy = "/v1/policy"

    public static let releases = "/v1/releases"
    public static let latestRelease = "/v1/releases/latest"
    public static let release = "/v1/releases/{number}"
    public static func release(_ number: Int) -> String { "/v1/releases/\(number)" }
    public static let releaseFile = "/v1/releases/{number}/files/{name}"
    public static func releaseFile(_ number: Int, _ name: String) -> String { "/v1/releases/\(number)/files/\(name)" }
    public static let blob = "/v1/blobs/{sha256}"
    public static func blob(_ sha256: String) -> String { "/v1/blobs/\(sha256)" }
    public static let anchorFile = "/v1/anchor/files/{name}"
    public static func anchorFile(_ name: String) -> String { "/v1/anchor/files/\(name)" }

    public static let route = "/v1/route"
    public static let score = "/v1/score"
    public static let generate = "/v1/generate"
    public static let experts = "/v1/experts"
}
