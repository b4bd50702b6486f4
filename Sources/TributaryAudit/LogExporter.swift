import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// Copies everything public about a log into a directory an offline audit reads
/// (`ExportedLogSource`): checkpoint, entries, blobs/ (every contributed file), releases/<n>/, anchor/.
public enum LogExporter {
    public static func export(client: TributaryClient, to out: String) async throws -> (entries: Int, blobs: Int, releases: Int) {
        let fm = FileManager.default
        for d in ["blobs", "releases", "anchor"] { try fm.createDirectory(atPath: out + "/" + d, withIntermediateDirectories: true) }
        let note = try await client.checkpoint()
        let logKey = try await client.logKey().verifierKey
        let cp = try Checkpoint.verify(note: note, key: logKey)
        let entries = try await ServerLogSource(client: client).entries(start: 0, end: cp.size)
        // The entries are the signed tree's before anything they name is fetched or written.
        var range = CompactRange()
        for e in entries { range.append(MerkleHash.leaf(e)) }
        guard range.root == cp.root else {
            throw TributaryError("audit.entries_mismatch", "the \(entries.count) entries served do not produce the signed checkpoint's root")
        }
        var blobs = 0, releases = 0
        for e in entries {
            switch try LogEntry.parse(e) {
            case let .contribution(_, _, _, _, files):
                for sha in files.values where !fm.fileExists(atPath: out + "/blobs/" + sha) {
                    try await client.download(APIPath.blob(sha), to: out + "/blobs/" + sha)
                    blobs += 1
                }
            case let .release(n, _, _):
                try fm.createDirectory(atPath: out + "/releases/\(n)", withIntermediateDirectories: true)
                for name in ReleaseLayout.allFiles {
                    do {
                        try await client.download(APIPath.releaseFile(n, name), to: out + "/releases/\(n)/" + name)
                    } catch where ReleaseLayout.optionalFiles.contains(name) || ReleaseRebuild.isPruned(error) {
                        continue  // no tokenizer (a byte-level anchor) or model signature, or a pruned release: its manifest is exported
                    }
                }
                releases += 1
            default: break
            }
        }
        for name in AnchorLayout.publishedFiles {
            do {
                try await client.download(APIPath.anchorFile(name), to: out + "/anchor/" + name)
            } catch where AnchorLayout.optionalFiles.contains(name) {
                continue  // a built-in byte-level anchor has no tokenizer file
            }
        }
        // The checkpoint last: the export is whole only once it is there.
        try AtomicFileWriter.write(ExportedLogSource.encodeEntries(entries), to: out + "/entries")
        try AtomicFileWriter.write(Array((logKey.encoded + "\n").utf8), to: out + "/log.pub")
        try AtomicFileWriter.write(note, to: out + "/checkpoint")
        return (entries.count, blobs, releases)
    }
}
