import TributaryCore
import TributaryLog

/// `POST /v1/releases`, `GET /v1/releases/latest` and `GET /v1/releases/{number}`: the signed
/// manifest's fields, where the release is in the log (`logIndex` of its entry, whose
/// `manifestSHA256` the signed manifest must hash to) and where to download the manifest. The answer
/// is a convenience: an auditor believes the signed manifest file, not this.
public struct ReleaseAnswer: Sendable, Equatable {
    public let manifest: ReleaseManifest
    public let logIndex: UInt64
    public let manifestSHA256: String
    /// Path of the signed manifest (`APIPath.releaseFile`).
    public let manifestFile: String
    /// Whether the server pruned the release's files (nil in the answer to publishing).
    public let pruned: Bool?
    /// How to rebuild a pruned release.
    public let rebuild: String?

    static let extraFields = ["logIndex", "manifestSHA256", "manifestFile", "pruned", "rebuild"]

    public init(manifest: ReleaseManifest, logIndex: UInt64, manifestSHA256: String, pruned: Bool?, rebuild: String?) {
        self.manifest = manifest
        self.logIndex = logIndex
        self.manifestSHA256 = manifestSHA256
        self.manifestFile = APIPath.releaseFile(manifest.release, ReleaseLayout.manifestFile)
        self.pruned = pruned
        self.rebuild = rebuild
    }

    public var release: Int { manifest.release }

    public var json: JSONValue {
        guard case var .object(members) = manifest.json else { return manifest.json }
        members += [("logIndex", .uint64(logIndex)), ("manifestSHA256", .string(manifestSHA256)), ("manifestFile", .string(manifestFile))]
        if let pruned { members.append(("pruned", .bool(pruned))) }
        if let rebuild { members.append(("rebuild", .string(rebuild))) }
        return .object(members)
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "release answer")
        guard case let .object(members) = json else { throw r.bad("manifest") }
        let manifest: ReleaseManifest
        do { manifest = try ReleaseManifest.parse(json: .object(members.filter { !Self.extraFields.contains($0.0) })) } catch {
            throw TributaryError("client.bad_response", "the release answer's manifest fields: \(error)")
        }
        // Derived from the number, so a client never downloads from a path the server chose.
        guard try r.string("manifestFile") == APIPath.releaseFile(manifest.release, ReleaseLayout.manifestFile) else { throw r.bad("manifestFile") }
        let sha = try r.string("manifestSHA256")
        guard Hex.isLowerHex(sha, byteCount: 32) else { throw r.bad("manifestSHA256") }
        self.init(manifest: manifest, logIndex: try r.uint64("logIndex"), manifestSHA256: sha,
                  pruned: json["pruned"] == nil ? nil : try r.bool("pruned"), rebuild: try r.optionalString("rebuild"))
    }
}
