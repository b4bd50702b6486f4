import Foundation
import TributaryClient
import TributaryCore
import TributaryLog

/// Downloads a published release into a directory a model loader can read, trusting nothing the
/// server says: the manifest must carry the log key's signature, and every file must hash to the
/// digest the signed manifest names. Files land in a temporary directory that is renamed into place
/// only when all of them check out, so a failed download leaves nothing behind.
public enum ReleaseDownload {
    public struct Result: Sendable {
        public let directory: String
        public let manifest: ReleaseManifest
    }

    /// `number` nil: the latest release.
    public static func fetch(client: TributaryClient, logKey: VerifierKey, number: Int?, to directory: String) async throws -> Result {
        let n: Int
        if let number {
            n = number
        } else {
            let answer = try await client.getJSON("/v1/releases/latest")
            guard case let .number(text)? = answer["release"], let latest = Int(text) else {
                throw TributaryError("release.bad_answer", "the server's latest release has no number")
            }
            n = latest
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory) else {
            throw TributaryError("release.exists", "\(directory) already exists; choose a new directory")
        }
        let staging = directory + ".tmp-\(getpid())"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        do {
            try await client.download("/v1/releases/\(n)/files/\(ReleaseLayout.manifestFile)", to: staging + "/" + ReleaseLayout.manifestFile)
            let manifest = try ReleaseManifest.verify(try readSmallFile(staging + "/" + ReleaseLayout.manifestFile, limit: 1 << 20), key: logKey)
            guard manifest.release == n else {
                throw TributaryError("release.bad_answer", "asked for release \(n), the signed manifest is release \(manifest.release)")
            }
            for (name, expected) in manifest.files.sorted(by: { $0.key < $1.key }) {
                guard !name.contains("/"), name != ReleaseLayout.manifestFile, !name.hasPrefix(".") else {
                    throw TributaryError("release.bad_manifest", "release \(n)'s manifest names an unsafe file \(name)")
                }
                let got = try await client.download("/v1/releases/\(n)/files/\(name)", to: staging + "/" + name)
                guard got == expected else {
                    throw TributaryError("release.digest_mismatch", "\(name) of release \(n) hashes to \(got), its signed manifest says \(expected)")
                }
            }
            try fm.moveItem(atPath: staging, toPath: directory)
            return Result(directory: directory, manifest: manifest)
        } catch {
            try? fm.removeItem(atPath: staging)
            throw error
        }
    }
}
