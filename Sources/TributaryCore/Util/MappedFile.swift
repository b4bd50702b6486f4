import Foundation

/// A regular file mapped read-only, unmapped when released: how model files (safetensors, GGUF) are
/// opened. A directory, device or FIFO is refused before anything is read; the bytes are paged in
/// from the file as they are read, never copied whole into memory.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    private let base: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.posix("open", path, errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError.posix("stat", path, errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileSystemError.other(path, "not a regular file") }
        size = Int(st.st_size)
        // mmap refuses length 0: an empty file has no mapping and no bytes.
        guard size > 0 else {
            base = nil
            return
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw FileSystemError.posix("mmap", path, errno)
        }
        base = UnsafeRawPointer(m)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The whole file; valid while this object lives.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
