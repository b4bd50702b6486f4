import Foundation
import TributaryCore
import TributaryLog

/// A release whose model files the server pruned is rebuilt from public material: the anchor and the
/// logged bundles, fetched and checked against the digests the manifest and the log record. Writing
/// the files is model code, which this module does not hold: the command line passes it in
/// (`TributaryContribution.ReleaseFiles`), and what it writes must hash to the signed manifest's
/// digests, file for file.
public struct ReleaseRebuild: Sendable {
    /// Writes the release's digested files into `out` from the anchor directory and the experts'
    /// bundle files, in manifest order.
    public typealias Writer = @Sendable (_ manifest: ReleaseManifest, _ anchor: String, _ experts: [(expert: String, routing: String)],
                                         _ out: String) throws -> Void

    public let write: Writer
    public init(write: @escaping Writer) { self.write = write }

    /// The anchor (its identity checked against the manifest) and every expert's files (their digests
    /// against the manifest's), fetched into `work`.
    static func inputs(_ m: ReleaseManifest, source: LogSource, work: String) async throws -> (anchor: String, experts: [(expert: String, routing: String)]) {
        let anchorDir = work + "/anchor"
        try FileManager.default.createDirectory(atPath: anchorDir, withIntermediateDirectories: true)
        for name in AnchorLayout.publishedFiles {
            do {
                try await source.fetch("anchor/\(name)", to: anchorDir + "/" + name)
            } catch where AnchorLayout.optionalFiles.contains(name) {
                continue  // absent: then the identity below is computed without it
            }
        }
        let anchorSHA = try AnchorLayout.identity(of: anchorDir)
        guard anchorSHA == m.anchorSHA256 else {
            throw TributaryError("audit.anchor_mismatch", "the served anchor's identity (config, weights, tokenizer) is \(anchorSHA.prefix(16))…, release \(m.release) names \(m.anchorSHA256.prefix(16))…")
        }
        var experts = [(expert: String, routing: String)]()
        for (i, e) in m.experts.enumerated() {
            let ex = work + "/expert-\(i + 1).safetensors", ro = work + "/routing-\(i + 1).safetensors"
            for (sha, path) in [(e.expertSHA256, ex), (e.routingSHA256, ro)] {
                try await source.fetch("blob/\(sha)", to: path)
                let got = Hex.encode(try SHA256.digest(fileAt: path).digest)
                guard got == sha else {
                    throw TributaryError("audit.blob_mismatch", "the blob served for contribution \(e.contribution) has SHA-256 \(got.prefix(16))…, the log says \(sha.prefix(16))…")
                }
            }
            experts.append((ex, ro))
        }
        return (anchorDir, experts)
    }

    /// Rebuilds release `m` into `out` and checks every file against the manifest. A tuned release's
    /// rows come from its router-tuning record, which pruning keeps: `source` serves it into `out`.
    func rebuild(_ m: ReleaseManifest, anchor: String, experts: [(expert: String, routing: String)], source: LogSource, into out: String) async throws {
        if let sha = m.files[ReleaseLayout.routerTuningFile] {
            let path = out + "/" + ReleaseLayout.routerTuningFile
            try await source.fetch("release/\(m.release)/\(ReleaseLayout.routerTuningFile)", to: path)
            let got = Hex.encode(try SHA256.digest(fileAt: path).digest)
            guard got == sha else {
                throw TributaryError("release.rebuild_mismatch", "release \(m.release)'s \(ReleaseLayout.routerTuningFile) has SHA-256 \(got.prefix(16))…, its signed manifest says \(sha.prefix(16))…")
            }
        }
        try write(m, anchor, experts, out)
        for (name, sha) in m.files {
            let path = out + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                throw TributaryError("release.rebuild_mismatch", "the rebuild of release \(m.release) wrote no \(name)")
            }
            let got = Hex.encode(try SHA256.digest(fileAt: path).digest)
            guard got == sha else {
                throw TributaryError("release.rebuild_mismatch", "the rebuilt \(name) of release \(m.release) has SHA-256 \(got.prefix(16))…, its signed manifest says \(sha.prefix(16))… (the rebuild is not bit-identical)")
            }
        }
    }

    /// Whether `error` is the server's answer for a pruned release file.
    static func isPruned(_ error: Error) -> Bool { (error as? CodedError)?.code == "api.gone" }
}
