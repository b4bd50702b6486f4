import Foundation
import TributaryCore

/// Content-addressed files: `DIR/ab/cdef…` named by their SHA-256. A blob is moved into place only
/// once it is complete and fsync'd (rename is atomic), so a name always means its whole content.
public struct BlobStore: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func path(_ sha256: String) -> String {
        directory + "/" + sha256.prefix(2) + "/" + sha256.dropFirst(2)
    }

    public func contains(_ sha256: String) -> Bool { FileManager.default.fileExists(atPath: path(sha256)) }

    /// Deletes every blob whose digest is not in `keeping` and, with `olderThan`, that was last
    /// modified before it; returns how many. A store that replicas share needs the age: another
    /// replica's upload adopts its blobs a moment before it commits the row naming them.
    public func removeUnreferenced(keeping: Set<String>, olderThan: Date? = nil) -> Int {
        var removed = 0
        let fm = FileManager.default
        for prefix in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] {
            for rest in (try? fm.contentsOfDirectory(atPath: directory + "/" + prefix)) ?? [] where !keeping.contains(prefix + rest) {
                let path = directory + "/" + prefix + "/" + rest
                if let olderThan, let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified >= olderThan { continue }
                if (try? fm.removeItem(atPath: path)) != nil { removed += 1 }
            }
        }
        return removed
    }

    /// Moves a fully written, fsync'd file (on the same file system) into the store under its digest.
    /// `verified`: the caller has just hashed this very file in a directory only it writes to; otherwise
    /// it is hashed again here. Keeps the existing blob when one with that digest is already there.
    public func adopt(file: String, sha256: String, verified: Bool = false) throws {
        guard Hex.isLowerHex(sha256, byteCount: 32) else { throw ServerError.badRequest("not a SHA-256: \(sha256)") }
        if !verified {
            let actual = Hex.encode(try SHA256.digest(fileAt: file).digest)
            guard actual == sha256 else { throw BundleError.digestMismatch(file: file, expected: sha256, actual: actual) }
        }
        let dest = path(sha256)
        let prefix = (dest as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: prefix) {
            try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
            // The new directory's own entry must be durable before a commit refers to a blob in it.
            syncDirectory(of: prefix)
        }
        if FileManager.default.fileExists(atPath: dest) {
            try? FileManager.default.removeItem(atPath: file)
            return
        }
        guard rename(file, dest) == 0 else { throw FileSystemError.posix("rename", dest, errno) }
        syncDirectory(of: dest)
    }
}
