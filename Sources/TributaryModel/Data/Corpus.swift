import Foundation
import TributaryCore

/// A set of documents. One document is one file — the unit of privacy for the routing signature and
/// the unit of the train/held-out split.
public struct Corpus: Sendable {
    public struct Document: Sendable {
        /// Where it came from (a path), for messages only.
        public let source: String
        public let bytes: [UInt8]

        public init(source: String, bytes: [UInt8]) {
            self.source = source
            self.bytes = bytes
        }

        /// BLAKE2b-128 of the content: decides the split, so identical files always land together.
        public var contentHash: [UInt8] { BLAKE2b.hash(bytes, outputLength: 16) }
    }

    public var documents: [Document]
    public var totalBytes: Int { documents.reduce(0) { $0 + $1.bytes.count } }

    public init(documents: [Document]) { self.documents = documents }

    public struct LoadOptions: Sendable {
        /// Only files whose name ends with one of these (case-insensitive); empty means every file.
        public var extensions: [String] = []
        /// Longer files are cut to this many bytes.
        public var maxDocumentBytes = 64 * 1024
        /// Stop reading once this much text is loaded (files are taken in sorted path order).
        public var maxTotalBytes = Int.max
        /// Files shorter than this are skipped.
        public var minDocumentBytes = 16
        public init() {}
    }

    /// Loads every regular file under `paths` (directories walked recursively in sorted order, hidden
    /// entries and symlinks skipped). Fails when a path does not exist or nothing was loaded.
    public static func load(paths: [String], options: LoadOptions = LoadOptions()) throws -> Corpus {
        var docs = [Document]()
        try forEachDocument(paths: paths, options: options) { docs.append($0) }
        return Corpus(documents: docs)
    }

    /// The documents `load` would return, one at a time and in the same order, never more than one in
    /// memory: what training reads a corpus of any size with (memory must not grow with the corpus).
    public static func forEachDocument(paths: [String], options: LoadOptions = LoadOptions(), _ body: (Document) throws -> Void) throws {
        var total = 0, count = 0
        let fm = FileManager.default
        var files = [String]()
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw TributaryError("corpus.not_found", "\(path) does not exist")
            }
            if isDir.boolValue {
                guard let e = fm.enumerator(atPath: path) else { continue }
                var found = [String]()
                while let rel = e.nextObject() as? String {
                    if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                    found.append(path + "/" + rel)
                }
                files += found.sorted()
            } else {
                files.append(path)
            }
        }
        let exts = options.extensions.map { $0.lowercased() }
        for file in files {
            guard total < options.maxTotalBytes else { break }
            if !exts.isEmpty && !exts.contains(where: { file.lowercased().hasSuffix($0) }) { continue }
            var st = stat()
            guard lstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= options.minDocumentBytes else { continue }
            let cut = min(Int(st.st_size), options.maxDocumentBytes, options.maxTotalBytes - total)
            guard cut >= options.minDocumentBytes, let bytes = readPrefix(file, cut) else { continue }
            try body(Document(source: file, bytes: bytes))
            total += bytes.count
            count += 1
        }
        guard count > 0 else {
            throw TributaryError("corpus.empty", "no documents found in \(paths.joined(separator: ", "))" + (exts.isEmpty ? "" : " with extensions \(exts)"))
        }
    }

    /// The first `n` bytes of a file (fewer when it is shorter), without reading the rest.
    static func readPrefix(_ path: String, _ n: Int) -> [UInt8]? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let data = try? h.read(upToCount: n) else { return nil }
        return [UInt8](data)
    }

    /// The held-out test of `split`, for one document.
    public static func isHeldOut(_ d: Document, fraction: Double) -> Bool {
        let h = d.contentHash
        return Double(UInt64(h[0]) << 24 | UInt64(h[1]) << 16 | UInt64(h[2]) << 8 | UInt64(h[3])) / 4_294_967_296 < fraction
    }

    /// Deterministic split by content hash: a document is held out when its hash, read as a number
    /// in [0, 1), falls below `fraction`.
    public func split(heldOutFraction fraction: Double) -> (train: Corpus, heldOut: Corpus) {
        var train = [Document](), held = [Document]()
        for d in documents {
            if Self.isHeldOut(d, fraction: fraction) { held.append(d) } else { train.append(d) }
        }
        return (Corpus(documents: train), Corpus(documents: held))
    }

    /// The first documents, whole, until they hold at least `bytes` bytes (all of them if fewer).
    public func prefix(bytes: Int) -> Corpus {
        var docs = [Document](), total = 0
        for d in documents where total < bytes {
            docs.append(d)
            total += d.bytes.count
        }
        return Corpus(documents: docs)
    }

    /// Every document framed as `tokenizer.document` frames it, concatenated.
    public func tokenStream(_ tokenizer: Tokenizer) -> [Int32] {
        var out = [Int32]()
        out.reserveCapacity(totalBytes / (tokenizer.isBytes ? 1 : 3) + 2 * documents.count)
        for d in documents { out += tokenizer.document(d.bytes) }
        return out
    }

    /// SHA-256 over the documents' content hashes in order: identifies the training data in checkpoints.
    public var fingerprint: String {
        let h = SHA256Hasher()
        for d in documents { h.update(d.contentHash) }
        return Hex.encode(h.finalize())
    }
}

/// Documents read one at a time, as often as needed, never all in memory: a corpus on disk (a
/// `Corpus.forEachDocument` walk, optionally filtered, e.g. to the training split) or one in memory.
public struct DocumentSource: Sendable {
    let walk: @Sendable ((Corpus.Document) throws -> Void) throws -> Void

    public init(walk: @escaping @Sendable ((Corpus.Document) throws -> Void) throws -> Void) { self.walk = walk }

    public init(_ corpus: Corpus) { self.init { body in for d in corpus.documents { try body(d) } } }

    /// The documents under `paths` that `keep` accepts, as `Corpus.load` reads them.
    public init(paths: [String], options: Corpus.LoadOptions, keep: @escaping @Sendable (Corpus.Document) -> Bool = { _ in true }) {
        self.init { body in try Corpus.forEachDocument(paths: paths, options: options) { d in if keep(d) { try body(d) } } }
    }

    public func forEach(_ body: (Corpus.Document) throws -> Void) throws {
        try withoutActuallyEscaping(body) { b in try walk(b) }
    }

    /// `Corpus.fingerprint`, document count and bytes, in one walk.
    public func summary() throws -> (fingerprint: String, documents: Int, bytes: Int) {
        let h = SHA256Hasher()
        var n = 0, bytes = 0
        try forEach { d in
            h.update(d.contentHash)
            n += 1
            bytes += d.bytes.count
        }
        return (Hex.encode(h.finalize()), n, bytes)
    }

    /// The documents in batches of at most `size`, the last one shorter, each document cut to its first
    /// `cut` bytes (what the batch's reader needs of it).
    public func forEachBatch(of size: Int, cut: Int = .max, _ body: ([Corpus.Document]) throws -> Void) throws {
        var batch = [Corpus.Document]()
        try forEach { d in
            batch.append(d.bytes.count <= cut ? d : Corpus.Document(source: d.source, bytes: Array(d.bytes.prefix(cut))))
            if batch.count == size {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try body(batch) }
    }
}
