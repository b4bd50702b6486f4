import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// Downloads a published release into a directory a model loader can read, trusting nothing the
/// server says: the manifest must carry the log key's signature and be the one the log's release
/// entry records (its digest, with an inclusion proof to a checkpoint signed by the pinned key), and
/// every file must hash to the digest the signed manifest names. Files land in a temporary directory that is renamed into place
/// only when all of them check out, so a failed download leaves nothing behind.
public enum ReleaseDownload {
    public struct Result: Sendable {
        public let directory: String
        public let manifest: ReleaseManifest
        /// The server had pruned the release's files: they were rebuilt from the anchor and the
        /// logged bundles (and hash to the signed manifest's digests all the same).
        public let rebuilt: Bool
        /// The release's OpenSSF model signature was checked (a `modelSigningKey` was given).
        public let modelSignatureVerified: Bool
    }

    /// `number` nil: the latest release. `rebuild`: how to write a release's files, for one the
    /// server pruned (nil: a pruned release is an error). `modelSigningKey`: the release must carry an
    /// OpenSSF model signature under it over exactly the files written.
    public static func fetch(client: TributaryClient, logKey: VerifierKey, number: Int?, to directory: String,
                             rebuild: ReleaseRebuild? = nil, modelSigningKey: P256PublicKey? = nil) async throws -> Result {
        let n: Int
        if let number {
            n = number
        } else {
            n = try await client.latestRelease().release
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory) else {
            throw TributaryError("release.exists", "\(directory) already exists; choose a new directory")
        }
        let staging = directory + ".tmp-\(getpid())"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        do {
            try await client.download(APIPath.releaseFile(n, ReleaseLayout.manifestFile), to: staging + "/" + ReleaseLayout.manifestFile)
            let manifestBytes = try readSmallFile(staging + "/" + ReleaseLayout.manifestFile, limit: 1 << 20)
            let manifest = try ReleaseManifest.verify(manifestBytes, key: logKey)
            guard manifest.release == n else {
                throw TributaryError("release.bad_answer", "asked for release \(n), the signed manifest is release \(manifest.release)")
            }
            try await checkLogged(manifestBytes, release: n, client: client, logKey: logKey)
            var rebuilt = false
            do {
                for (name, expected) in manifest.files.sorted(by: { $0.key < $1.key }) {
                    let got = try await client.download(APIPath.releaseFile(n, name), to: staging + "/" + name)
                    guard got == expected else {
                        throw TributaryError("release.digest_mismatch", "\(name) of release \(n) hashes to \(got), its signed manifest says \(expected)")
                    }
                }
            } catch where ReleaseRebuild.isPruned(error) {
                guard let rebuild else { throw error }
                let inputs = staging + "/.inputs"
                let (anchor, experts) = try await ReleaseRebuild.inputs(manifest, source: ServerLogSource(client: client), work: inputs)
                try await rebuild.rebuild(manifest, anchor: anchor, experts: experts, source: ServerLogSource(client: client), into: staging)
                try fm.removeItem(atPath: inputs)
                rebuilt = true
            }
            if let modelSigningKey {
                let signature = staging + "/" + ReleaseLayout.modelSignatureFile
                try await client.download(APIPath.releaseFile(n, ReleaseLayout.modelSignatureFile), to: signature)
                // Every file already hashed to the signed manifest's digest (downloaded or rebuilt):
                // the signature must sign exactly those digests and the manifest's, as the auditor checks.
                let signed = try ModelSigningSignature.verify(bundle: try readSmallFile(signature, limit: 1 << 20), key: modelSigningKey)
                try signed.check(manifest.files.merging([ReleaseLayout.manifestFile: Hex.encode(SHA256.digest(manifestBytes))]) { a, _ in a })
            }
            try fm.moveItem(atPath: staging, toPath: directory)
            return Result(directory: directory, manifest: manifest, rebuilt: rebuilt, modelSignatureVerified: modelSigningKey != nil)
        } catch {
            try? fm.removeItem(atPath: staging)
            throw error
        }
    }

    /// The release entry at the index the server names records this manifest's digest, and is in the
    /// log under a checkpoint signed by the pinned key.
    static func checkLogged(_ manifest: [UInt8], release n: Int, client: TributaryClient, logKey: VerifierKey) async throws {
        let index = try await client.release(n).logIndex
        let cp = try Checkpoint.verify(note: try await client.checkpoint(), key: logKey)
        guard index < cp.size else { throw TributaryError("release.not_logged", "release \(n)'s entry \(index) is beyond the signed checkpoint of size \(cp.size)") }
        let entries = try await client.entries(start: index, end: index + 1)
        guard entries.count == 1, case let .release(number, _, sha) = try LogEntry.parse(entries[0]), number == n,
              sha == Hex.encode(SHA256.digest(manifest)) else {
            throw TributaryError("release.not_logged", "log entry \(index) is not release \(n) with this manifest")
        }
        let proof = try await client.inclusionProof(index: index, size: cp.size)
        guard ProofVerification.inclusion(index: index, size: cp.size, leafHash: MerkleHash.leaf(entries[0]), proof: proof, root: cp.root) else {
            throw TributaryError("release.not_logged", "the inclusion proof for release \(n)'s entry does not lead to the signed checkpoint")
        }
    }
}
