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
        var total = 0
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
            guard let data = fm.contents(atPath: file) else { continue }
            let cut = min(data.count, options.maxDocumentBytes, options.maxTotalBytes - total)
            guard cut >= options.minDocumentBytes else { continue }
            docs.append(Document(source: file, bytes: [UInt8](data.prefix(cut))))
            total += cut
        }
        guard !docs.isEmpty else {
            throw TributaryError("corpus.empty", "no documents found in \(paths.joined(separator: ", "))" + (exts.isEmpty ? "" : " with extensions \(exts)"))
        }
        return Corpus(documents: docs)
    }

    /// Deterministic split by content hash: a document is held out when its hash, read as a number
    /// in [0, 1), falls below `fraction`.
    public func split(heldOutFraction fraction: Double) -> (train: Corpus, heldOut: Corpus) {
        var train = [Document](), held = [Document]()
        for d in documents {
            let h = d.contentHash
            let x = Double(UInt64(h[0]) << 24 | UInt64(h[1]) << 16 | UInt64(h[2]) << 8 | UInt64(h[3])) / 4_294_967_296
            if x < fraction { held.append(d) } else { train.append(d) }
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
