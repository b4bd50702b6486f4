import Foundation

/// A contribution bundle on the wire: a POSIX ustar archive of the four bundle files, nothing else.
///
/// The writer produces one exact form (sorted names, so envelope.json first; mode 0644, owner 0, time 0); the reader accepts
/// ustar or GNU-magic headers but only regular files with plain bundle names, and streams each file to
/// disk as it arrives, so memory does not grow with the size of an expert.
public enum BundleArchive {
    public static let blockSize = 512
    /// The largest size an 11-digit octal ustar size field holds (8 GiB − 1).
    public static let maxFileSize: UInt64 = 0o77777777777

    /// Header + content + padding of every bundle file, then the two zero blocks, in chunks of at most
    /// `chunkSize` bytes (for streaming uploads). Reads files lazily.
    public static func chunks(directory: String, chunkSize: Int = 1 << 20) throws -> AsyncThrowingStream<[UInt8], Error> {
        _ = try ContributionBundle.checkEntries(directory: directory)
        // The envelope first: a server checks its signature before reading the rest.
        let names = [BundleArchiveReader.firstEntry] + BundleLayout.allFiles.subtracting([BundleArchiveReader.firstEntry]).sorted()
        return AsyncThrowingStream { continuation in
            do {
                for name in names {
                    let path = directory + "/" + name
                    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                    guard fd >= 0 else { throw FileSystemError.posix("open", path, errno) }
                    defer { close(fd) }
                    var st = stat()
                    guard fstat(fd, &st) == 0 else { throw FileSystemError.posix("stat", path, errno) }
                    guard UInt64(st.st_size) <= maxFileSize else {
                        throw FileSystemError.other(path, "larger than the 8 GiB a ustar archive entry can hold")
                    }
                    continuation.yield(header(name: name, size: UInt64(st.st_size)))
                    var remaining = Int(st.st_size)
                    var buffer = [UInt8](repeating: 0, count: chunkSize)
                    while remaining > 0 {
                        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, min(chunkSize, remaining)) }
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { throw FileSystemError.other(path, "file shrank while being archived") }
                        continuation.yield(Array(buffer[0..<n]))
                        remaining -= n
                    }
                    let pad = (blockSize - Int(st.st_size) % blockSize) % blockSize
                    if pad > 0 { continuation.yield([UInt8](repeating: 0, count: pad)) }
                }
                continuation.yield([UInt8](repeating: 0, count: 2 * blockSize))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// The whole archive in memory (tests and small bundles).
    public static func bytes(directory: String) async throws -> [UInt8] {
        var out = [UInt8]()
        for try await c in try chunks(directory: directory) { out += c }
        return out
    }

    /// A ustar header for a regular file (`size` at most `maxFileSize`).
    public static func header(name: String, size: UInt64, typeflag: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        precondition(size <= maxFileSize, "ustar sizes stop at 8 GiB")
        var h = [UInt8](repeating: 0, count: blockSize)
        func put(_ s: String, at offset: Int, max: Int) {
            for (i, b) in s.utf8.prefix(max).enumerated() { h[offset + i] = b }
        }
        func octal(_ v: UInt64, at offset: Int, width: Int) {
            put(String(String(v, radix: 8).reversed().prefix(width - 1).reversed()).leftPadded(to: width - 1), at: offset, max: width - 1)
        }
        put(name, at: 0, max: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        h[156] = typeflag
        put("ustar", at: 257, max: 6)
        put("00", at: 263, max: 2)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + UInt64($1) }
        put(String(sum, radix: 8).leftPadded(to: 6), at: 148, max: 6)
        h[154] = 0
        h[155] = 0x20
        return h
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

public enum ArchiveError: CodedError, Equatable {
    case tooLarge(limit: UInt64)
    case badHeader(String)
    case badEntryType(name: String, type: String)
    case badName(String)
    case duplicate(String)
    case extraFile(String)
    case missingFile(String)
    case fileTooLarge(name: String, limit: UInt64)
    case truncated
    case trailingData
    case envelopeNotFirst(String)
    case timeout(seconds: Int)

    public var code: String {
        switch self {
        case .tooLarge: return "upload.too_large"
        case .badHeader: return "upload.bad_archive"
        case .badEntryType: return "upload.bad_entry_type"
        case .badName: return "upload.bad_name"
        case .duplicate: return "upload.duplicate_entry"
        case .extraFile: return "upload.extra_file"
        case .missingFile: return "upload.missing_file"
        case .fileTooLarge: return "upload.file_too_large"
        case .truncated: return "upload.truncated"
        case .trailingData: return "upload.trailing_data"
        case .envelopeNotFirst: return "upload.envelope_not_first"
        case .timeout: return "upload.timeout"
        }
    }

    public var message: String {
        switch self {
        case let .tooLarge(limit): return "upload exceeds the limit of \(limit) bytes"
        case let .badHeader(why): return "not a valid ustar archive: \(why)"
        case let .badEntryType(name, type): return "archive entry \(name.debugDescription) is a \(type); bundles hold regular files only"
        case let .badName(name): return "archive entry name \(name.debugDescription) is not a bundle file name (no paths, '..', or control characters)"
        case let .duplicate(name): return "archive holds \(name) twice"
        case let .extraFile(name): return "archive holds \(name), which is not part of a contribution bundle"
        case let .missingFile(name): return "archive lacks \(name)"
        case let .fileTooLarge(name, limit): return "\(name) is larger than its limit of \(limit) bytes"
        case .truncated: return "archive ends in the middle of an entry or without its end-of-archive blocks"
        case .trailingData: return "non-zero data after the end of the archive"
        case let .envelopeNotFirst(name): return "archive starts with \(name); the envelope (\(BundleLayout.envelopeFile)) must come first, so its signature is checked before the rest is read"
        case let .timeout(seconds): return "the upload took longer than the server's \(seconds)-second limit"
        }
    }
}
