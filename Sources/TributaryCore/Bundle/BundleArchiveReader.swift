import Foundation

/// Reads a bundle archive incrementally (`feed` as bytes arrive, then `finish`) and writes each file
/// into `directory`, which must exist and be empty. Every check happens before a byte of a file is
/// written: type, name, duplicates, sizes; the total is bounded by `limit`.
///
/// The envelope comes first (protocol/SPEC.md §11.2): `feed` stops right after its last byte, so the
/// server checks its signature and the signer's enrolment before it reads the bulk of the upload.
public final class BundleArchiveReader {
    public let directory: String
    public let limit: UInt64
    /// statement.json and envelope.json are small by construction.
    public static let smallFileLimit: UInt64 = 1 << 20
    /// The entry every archive starts with, and after which `feed` pauses.
    public static let firstEntry = BundleLayout.envelopeFile

    /// Set when `feed` stopped after the first entry; `resume()` lets it read on.
    public private(set) var pausedAfterFirstEntry = false
    private var firstEntryDone = false

    private var header = [UInt8]()
    private var current: (name: String, remaining: UInt64, padding: Int, fd: Int32)?
    private var padding = 0
    private var ended = false
    private var zeroBlocks = 0
    public private(set) var total: UInt64 = 0
    public private(set) var files: [String: UInt64] = [:]

    public init(directory: String, limit: UInt64) {
        self.directory = directory
        self.limit = limit
    }

    deinit { if let c = current { close(c.fd) } }

    public func resume() { pausedAfterFirstEntry = false }

    /// Consumes bytes until they run out or the first entry is complete (then `pausedAfterFirstEntry`
    /// is set); returns how many it consumed. Call again with the rest after `resume()`.
    @discardableResult
    public func feed(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        guard !pausedAfterFirstEntry else { return 0 }
        var i = 0
        defer { total += UInt64(i) }
        // total ≤ limit always holds, so the sum cannot overflow.
        guard total + UInt64(bytes.count) <= limit else { throw ArchiveError.tooLarge(limit: limit) }
        while i < bytes.count {
            if ended {
                // After the end marker only zero padding (tar's record blocking) may follow.
                guard bytes[i] == 0 else { throw ArchiveError.trailingData }
                i += 1
                continue
            }
            if var c = current {
                let n = Int(min(UInt64(bytes.count - i), c.remaining))
                if n > 0 {
                    try writeAll(c.fd, UnsafeRawBufferPointer(rebasing: bytes[i..<i + n]), name: c.name)
                    c.remaining -= UInt64(n)
                    i += n
                }
                if c.remaining == 0 {
                    guard fsync(c.fd) == 0 else { throw FileSystemError.posix("fsync", c.name, errno) }
                    close(c.fd)
                    padding = c.padding
                    current = nil
                    if entryCompleted(c.name) { return i }
                } else {
                    current = c
                }
                continue
            }
            if padding > 0 {
                let n = min(padding, bytes.count - i)
                padding -= n
                i += n
                continue
            }
            let n = min(BundleArchive.blockSize - header.count, bytes.count - i)
            header += bytes[i..<i + n]
            i += n
            if header.count == BundleArchive.blockSize {
                let emptyEntry = try processHeader()
                header.removeAll(keepingCapacity: true)
                if let emptyEntry, entryCompleted(emptyEntry) { return i }
            }
        }
        return i
    }

    /// Feeds all of `bytes`, which must not complete the first entry (tests, fuzzing).
    public func feed(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                off += try feed(UnsafeRawBufferPointer(rebasing: raw[off...]))
                resume()
            }
        }
    }

    /// Marks `name` complete; true when the caller must pause here.
    private func entryCompleted(_ name: String) -> Bool {
        guard !firstEntryDone else { return false }
        firstEntryDone = true
        pausedAfterFirstEntry = true
        return true
    }

    /// Ends the stream: the archive must be complete and hold exactly the four bundle files.
    public func finish() throws {
        guard ended, current == nil, padding == 0, header.isEmpty else { throw ArchiveError.truncated }
        for name in BundleLayout.allFiles.sorted() where files[name] == nil { throw ArchiveError.missingFile(name) }
    }

    /// Checks a header and opens its file; returns the name of an entry that is already complete
    /// (size 0), else nil.
    private func processHeader() throws -> String? {
        if header.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { ended = true }
            return nil
        }
        guard zeroBlocks == 0 else { throw ArchiveError.badHeader("a lone zero block inside the archive") }
        let magic = Array(header[257..<263]), version = Array(header[263..<265])
        let ustar = magic == Array("ustar\0".utf8) && version == Array("00".utf8)
        let gnu = magic == Array("ustar ".utf8) && version == [0x20, 0x00]
        guard ustar || gnu else { throw ArchiveError.badHeader("missing ustar magic") }
        var sum: UInt64 = 0
        for (i, b) in header.enumerated() { sum += (148..<156).contains(i) ? 0x20 : UInt64(b) }
        guard let stored = octal(header[148..<156]), stored == sum else { throw ArchiveError.badHeader("header checksum mismatch") }
        let name = cString(header[0..<100]), prefix = ustar ? cString(header[345..<500]) : ""
        let full = prefix.isEmpty ? name : prefix + "/" + name
        let type = header[156]
        switch type {
        case UInt8(ascii: "0"), 0: break
        case UInt8(ascii: "2"): throw ArchiveError.badEntryType(name: full, type: "symbolic link")
        case UInt8(ascii: "1"): throw ArchiveError.badEntryType(name: full, type: "hard link")
        case UInt8(ascii: "5"): throw ArchiveError.badEntryType(name: full, type: "directory")
        case UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "6"): throw ArchiveError.badEntryType(name: full, type: "device or FIFO")
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            throw ArchiveError.badEntryType(name: full, type: "pax or GNU extension header (unsupported)")
        default: throw ArchiveError.badEntryType(name: full, type: "entry of type \(type)")
        }
        guard BundleLayout.isAcceptableName(full) else { throw ArchiveError.badName(full) }
        guard BundleLayout.allFiles.contains(full) else { throw ArchiveError.extraFile(full) }
        guard files[full] == nil else { throw ArchiveError.duplicate(full) }
        guard firstEntryDone || full == Self.firstEntry else { throw ArchiveError.envelopeNotFirst(full) }
        guard header[124] & 0x80 == 0, let size = octal(header[124..<136]) else { throw ArchiveError.badHeader("size of \(full) is not octal") }
        let fileLimit = full.hasSuffix(".json") ? Self.smallFileLimit : limit
        guard size <= fileLimit else { throw ArchiveError.fileTooLarge(name: full, limit: fileLimit) }
        let path = directory + "/" + full
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.posix("create", path, errno) }
        files[full] = size
        let pad = Int((UInt64(BundleArchive.blockSize) - size % UInt64(BundleArchive.blockSize)) % UInt64(BundleArchive.blockSize))
        if size == 0 {
            close(fd)
            padding = pad
            return full
        }
        current = (full, size, pad, fd)
        return nil
    }

    private func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, name: String) throws {
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.posix("write", name, errno)
            }
            off += n
        }
    }

    private func cString(_ field: ArraySlice<UInt8>) -> String {
        let bytes = field.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Octal digits, optionally surrounded by spaces and NUL terminators.
    private func octal(_ field: ArraySlice<UInt8>) -> UInt64? {
        let digits = field.filter { $0 != 0 && $0 != 0x20 }
        guard !digits.isEmpty, digits.count <= 21, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) else { return nil }
        return digits.reduce(UInt64(0)) { $0 * 8 + UInt64($1 - 0x30) }
    }
}
