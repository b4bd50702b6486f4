import Foundation
import TributaryCore

/// Where training windows come from: a token stream in memory, or on disk (`TokenStore`).
public protocol TokenSource: Sendable {
    var count: Int { get }
    /// Tokens [range] of the stream.
    func tokens(_ range: Range<Int>) -> [Int32]
    /// Identifies the stream's content (checkpoints resume only on the same data).
    var fingerprint: String { get }
}

/// A token stream held in memory (small corpora, proxy text, tests).
public struct InMemoryTokens: TokenSource {
    public let stream: [Int32]
    public init(_ stream: [Int32]) { self.stream = stream }
    public var count: Int { stream.count }
    public func tokens(_ range: Range<Int>) -> [Int32] { Array(stream[range]) }
    public var fingerprint: String { Hex.encode(SHA256.digest(stream.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })) }
}

/// A token stream in a file, 4 bytes a token (little-endian), written once document by document and
/// read a window at a time: training on 100 MB of text takes the memory training on 1 MB takes.
public final class TokenStore: TokenSource, @unchecked Sendable {
    public let path: String
    public private(set) var count = 0
    public let fingerprint: String
    private let fd: Int32

    /// Writes every document `documents` yields, framed as `tokenizer.document` frames it, to `path`.
    public init(path: String, tokenizer: Tokenizer, documents: ((Corpus.Document) throws -> Void) throws -> Void) throws {
        self.path = path
        let writer = try AtomicFileWriter(path: path)
        let hash = SHA256Hasher()
        var n = 0
        try documents { d in
            let ids = tokenizer.document(d.bytes).map(\.littleEndian)
            try ids.withUnsafeBytes { bytes in
                hash.update(bytes)
                try writer.write(bytes)
            }
            n += ids.count
        }
        try writer.commit()
        count = n
        fingerprint = Hex.encode(hash.finalize())
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.posix("open", path, errno) }
    }

    deinit { close(fd) }

    public func tokens(_ range: Range<Int>) -> [Int32] {
        var out = [Int32](repeating: 0, count: range.count)
        let want = range.count * 4
        let got = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, want, off_t(range.lowerBound * 4)) }
        precondition(got == want, "\(path): read \(got) of \(want) bytes at token \(range.lowerBound)")
        return out.map { Int32(littleEndian: $0) }
    }
}
