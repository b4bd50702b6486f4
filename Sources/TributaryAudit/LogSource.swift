import Foundation
import TributaryClient
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
        let parts = item.split(separator: "/").map(String.init)
        let path: String
        switch parts.first {
        case "blob": path = "/v1/blobs/\(parts[1])"
        case "release": path = "/v1/releases/\(parts[1])/files/\(parts[2])"
        case "anchor": path = "/v1/anchor/files/\(parts[1])"
        default: throw AuditFailure.source("unknown item \(item)")
        }
        try await client.download(path, to: destination)
    }
}

/// An exported log directory:
///     checkpoint, entries (each entry: 4-byte big-endian length + bytes), blobs/<sha256>,
///     releases/<n>/<file>, anchor/<file>
public struct ExportedLogSource: LogSource {
    public let directory: String
    public init(directory: String) { self.directory = directory }
    public var description: String { directory }

    public func checkpoint() async throws -> [UInt8] { try readSmallFile(directory + "/checkpoint", limit: 1 << 20, noFollow: false) }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        let all = try Self.readEntries(directory + "/entries")
        guard end <= UInt64(all.count), start <= end else { throw AuditFailure.source("export holds \(all.count) entries, [\(start), \(end)) requested") }
        return Array(all[Int(start)..<Int(end)])
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]]? { nil }

    public func fetch(_ item: String, to destination: String) async throws {
        let parts = item.split(separator: "/").map(String.init)
        let source: String
        switch parts.first {
        case "blob": source = directory + "/blobs/" + parts[1]
        case "release": source = directory + "/releases/" + parts[1] + "/" + parts[2]
        case "anchor": source = directory + "/anchor/" + parts[1]
        default: throw AuditFailure.source("unknown item \(item)")
        }
        guard FileManager.default.fileExists(atPath: source) else { throw AuditFailure.source("export lacks \(item)") }
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    public static func readEntries(_ path: String) throws -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let bytes = [UInt8](data)
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
