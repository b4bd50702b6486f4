import Foundation

/// Writes a file so that readers see either the old content or the whole new content, never a part:
/// a temporary file in the same directory, written, fsync'd, renamed over the target, directory fsync'd.
/// On any error the temporary file is removed and the target is untouched.
public final class AtomicFileWriter {
    public let path: String
    private let tempPath: String
    private var fd: Int32
    private var committed = false
    private var buffer = [UInt8]()
    private let bufferLimit = 1 << 20

    public init(path: String, mode: mode_t = 0o644) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let suffix = Hex.encode(secureRandomBytes(6))
        tempPath = (dir.isEmpty ? "." : dir) + "/.\(base).tmp-\(suffix)"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileSystemError.posix("create", tempPath, errno) }
        // umask may have narrowed the mode; private keys need exactly what was asked.
        fchmod(fd, mode)
    }

    deinit {
        if !committed { abandon() }
    }

    public func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    public func write(_ raw: UnsafeRawBufferPointer) throws {
        if raw.count >= bufferLimit {
            try flush()
            try writeAll(raw)
        } else {
            buffer.append(contentsOf: raw)
            if buffer.count >= bufferLimit { try flush() }
        }
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < raw.count {
            let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.posix("write", tempPath, errno)
            }
            offset += n
        }
    }

    /// Makes the new content durable and visible under `path`.
    public func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw FileSystemError.posix("fsync", tempPath, errno) }
        close(fd)
        fd = -1
        guard rename(tempPath, path) == 0 else {
            let e = errno
            unlink(tempPath)
            committed = true
            throw FileSystemError.posix("rename", path, e)
        }
        committed = true
        syncDirectory(of: path)
    }

    /// Drops the temporary file; the target is left as it was.
    public func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
        committed = true
    }

    /// Writes `bytes` to `path` atomically.
    public static func write<C: Collection>(_ bytes: C, to path: String, mode: mode_t = 0o644) throws
    where C.Element == UInt8 {
        let w = try AtomicFileWriter(path: path, mode: mode)
        try w.write(bytes)
        try w.commit()
    }
}

/// fsync on the directory makes a rename inside it durable.
public func syncDirectory(of path: String) {
    let dir = (path as NSString).deletingLastPathComponent
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
        fsync(dfd)
        close(dfd)
    }
}

/// Reads a whole small file, refusing anything larger than `limit` bytes and (by default) symlinks.
public func readSmallFile(_ path: String, limit: Int, noFollow: Bool = true) throws -> [UInt8] {
    try readRegularFile(path, limit: limit, noFollow: noFollow, secret: false)
}

/// Reads a secret — a private key, a database password — refusing a file its group or others can
/// read or write (`key.permissions`), checked on the file opened, not on the name. Every secret the
/// tools read goes through here: the server's log key, `admin migrate`'s, users' keys, password files.
public func readSecretFile(_ path: String, limit: Int = 4096) throws -> [UInt8] {
    try readRegularFile(path, limit: limit, noFollow: false, secret: true)
}

private func readRegularFile(_ path: String, limit: Int, noFollow: Bool, secret: Bool) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0))
    guard fd >= 0 else { throw FileSystemError.posix("open", path, errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileSystemError.posix("stat", path, errno) }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileSystemError.other(path, "not a regular file") }
    if secret && st.st_mode & 0o077 != 0 {
        throw TributaryError("key.permissions", "\(path) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
    }
    guard st.st_size <= limit else {
        throw FileSystemError(code: "io.too_large", message: "\(path): \(st.st_size) bytes, more than the limit of \(limit)")
    }
    var out = [UInt8](repeating: 0, count: Int(st.st_size))
    var offset = 0
    while offset < out.count {
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            if secret { secureZero(&out) }
            throw FileSystemError.posix("read", path, errno)
        }
        if n == 0 { break }
        offset += n
    }
    guard offset == out.count else { throw FileSystemError.other(path, "file shrank while being read") }
    return out
}
