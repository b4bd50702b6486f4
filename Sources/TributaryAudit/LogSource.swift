import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

/// Where an audit reads public material from: a live server, or a directory written by
/// `tributary log export`. Both give exactly what anyone can download; nothing private.
public protocol LogSource: Sendable {
    var description: String { get }
    func checkpoint() async throws -> [UInt8]
    func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]]
    func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]]?
    /// Downloads a file: `blob/<sha256>`, `release/<n>/<name>` or `anchor/<name>`, into `destination`.
    func fetch(_ item: String, to destination: String) async throws
}

/// A live server over HTTP.
public struct ServerLogSource: LogSource {
    public let client: TributaryClient
    public init(client: TributaryClient) { self.client = client }
    public var description: String { client.base }

    public func checkpoint() async throws -> [UInt8] { try await client.checkpoint() }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        var out = [[UInt8]]()
        var s = start
        while s < end {
            let e = min(end, s + 1000)
            let page = try await client.entries(start: s, end: e)
            guard page.count == Int(e - s) else { throw AuditFailure.source("server returned \(page.count) entries for [\(s), \(e))") }
            out += page
            s = e
        }
        return out
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]]? {
        try await client.consistencyProof(first: first, second: second)
    }

    public func fetch(_ item: String, to destination: String) async throws {
        let path: String
        switch try PublicItem(item) {
        case let .blob(sha): path = APIPath.blob(sha)
        case let .releaseFile(n, name): path = APIPath.releaseFile(n, name)
        case let .anchorFile(name): path = APIPath.anchorFile(name)
        }
        _ = try await client.download(path, to: destination, limit: PublicItem.maxBytes)
    }
}

/// What an audit fetches besides the log: a blob by digest, a release's file, an anchor file. Parsed
/// strictly, whatever built the name: a manifest or entry can only name a digest or a known file.
enum PublicItem {
    case blob(String)
    case releaseFile(Int, String)
    case anchorFile(String)

    /// The largest file an audit downloads or copies (a release of a 7B model is ~30 GB in F32).
    static let maxBytes: UInt64 = 1 << 36

    init(_ item: String) throws {
        let parts = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("blob", 2) where Hex.isLowerHex(parts[1], byteCount: 32): self = .blob(parts[1])
        case ("release", 3):
            guard let n = Int(parts[1]), n >= 1, ReleaseLayout.allFiles.contains(parts[2]) else {
                throw AuditFailure.source("not a release file: \(item.debugDescription)")
            }
            self = .releaseFile(n, parts[2])
        case ("anchor", 2) where AnchorLayout.publishedFiles.contains(parts[1]): self = .anchorFile(parts[1])
        default: throw AuditFailure.source("not an item an audit fetches: \(item.debugDescription.prefix(100))")
        }
    }
}

/// Copies a regular file (never through a link, never a device or a pipe) of at most `limit` bytes.
func copyRegularFile(_ source: String, to destination: String, limit: UInt64) throws {
    let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw FileSystemError.posix("open", source, errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileSystemError.posix("stat", source, errno) }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw AuditFailure.source("\(source) is not a regular file") }
    guard UInt64(st.st_size) <= limit else { throw AuditFailure.source("\(source) holds \(st.st_size) bytes, more than an audit reads (\(limit))") }
    let writer = try AtomicFileWriter(path: destination)
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { if errno == EINTR { continue }; throw FileSystemError.posix("read", source, errno) }
        if n == 0 { break }
        try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
    }
    try writer.commit()
}

/// An exported log directory:
///     checkpoint, entries (each entry: 4-byte big-endian length + bytes), blobs/<sha256>,
///     releases/<n>/<file>, anchor/<file>
public struct ExportedLogSource: LogSource {
    public let directory: String
    public init(directory: String) { self.directory = directory }
    public var description: String { directory }
    /// The entries file is read whole: at most this many bytes (2^16 entries of the largest size a tile allows).
    static let maxEntriesBytes = 1 << 32

    public func checkpoint() async throws -> [UInt8] { try readSmallFile(directory + "/checkpoint", limit: 1 << 20, noFollow: false) }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        let all = try Self.readEntries(directory + "/entries")
        guard end <= UInt64(all.count), start <= end else { throw AuditFailure.source("export holds \(all.count) entries, [\(start), \(end)) requested") }
        return Array(all[Int(start)..<Int(end)])
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]]? { nil }

    public func fetch(_ item: String, to destination: String) async throws {
        let source: String
        switch try PublicItem(item) {
        case let .blob(sha): source = directory + "/blobs/" + sha
        case let .releaseFile(n, name): source = directory + "/releases/" + String(n) + "/" + name
        case let .anchorFile(name): source = directory + "/anchor/" + name
        }
        guard FileManager.default.fileExists(atPath: source) else {
            if case let .releaseFile(n, _) = try PublicItem(item),
               FileManager.default.fileExists(atPath: directory + "/releases/\(n)/" + ReleaseLayout.manifestFile) {
                throw TributaryError("api.gone", "\(item) was pruned by the server before the export (its manifest is here)")
            }
            throw AuditFailure.source("export lacks \(item)")
        }
        try? FileManager.default.removeItem(atPath: destination)
        try copyRegularFile(source, to: destination, limit: PublicItem.maxBytes)
    }

    public static func readEntries(_ path: String) throws -> [[UInt8]] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        // A regular file, not followed through a link (a link to /dev/zero would never end).
        let bytes = try readSmallFile(path, limit: Self.maxEntriesBytes)
        var out = [[UInt8]](), i = 0
        while i < bytes.count {
            guard i + 4 <= bytes.count else { throw AuditFailure.source("entries file is truncated") }
            let n = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            guard i + n <= bytes.count else { throw AuditFailure.source("entries file is truncated") }
            out.append(Array(bytes[i..<i + n]))
            i += n
        }
        return out
    }

    public static func encodeEntries(_ entries: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        for e in entries {
            let n = e.count
            out += [UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            out += e
        }
        return out
    }
}
