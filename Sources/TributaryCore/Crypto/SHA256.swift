import CLibCrypto
import Foundation

/// Streaming SHA-256 through OpenSSL's EVP interface.
///
/// Every digest in Tributary (files, anchor, log leaves) is SHA-256; files are hashed in fixed-size
/// chunks so memory does not grow with the size of an expert.
public final class SHA256Hasher {
    private let ctx: OpaquePointer
    private var finished = false

    public init() {
        guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        guard EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else { fatalError("EVP_DigestInit_ex(sha256) failed") }
        ctx = c
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(!finished, "SHA256Hasher used after finalize()")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard EVP_DigestUpdate(ctx, base, buffer.count) == 1 else { fatalError("EVP_DigestUpdate failed") }
    }

    public func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if let done = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let copy = Array(bytes)
        copy.withUnsafeBytes { update($0) }
    }

    public func finalize() -> [UInt8] {
        precondition(!finished, "SHA256Hasher finalised twice")
        finished = true
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &out, &len) == 1, len == 32 else { fatalError("EVP_DigestFinal_ex failed") }
        return out
    }
}

public enum SHA256 {

    public static func digest<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }

    /// Hashes a file by streaming 1 MiB chunks with read(2). Does not follow a final symlink when
    /// `noFollow` is set, so a verifier cannot be sent off to /dev/zero.
    public static func digest(fileAt path: String, noFollow: Bool = true) throws -> (digest: [UInt8], size: UInt64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0))
        guard fd >= 0 else { throw FileSystemError.posix("open", path, errno) }
        defer { close(fd) }
        return try digest(fileDescriptor: fd, path: path)
    }

    public static func digest(fileDescriptor fd: Int32, path: String) throws -> (digest: [UInt8], size: UInt64) {
        let h = SHA256Hasher()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let n = read(fd, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.posix("read", path, errno)
            }
            if n == 0 { break }
            h.update(UnsafeRawBufferPointer(start: buffer, count: n))
            total += UInt64(n)
        }
        return (h.finalize(), total)
    }
}
