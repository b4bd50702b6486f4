import Foundation
import TributaryCore
import TributaryModel

/// The demo's text, all from Debian packages that scripts/setup.sh installs (nothing is downloaded at
/// run time and nothing is committed): public English prose for the anchor and three clearly different
/// private domains. Each is copied into `WORKDIR/corpora/NAME/` as one file per document, so every
/// command (and a person following examples/) reads plain directories.
public struct DemoCorpora: Sendable {
    public struct Domain: Sendable {
        public let name: String
        public let description: String
        /// Source directories and the file-name endings taken from them.
        public let sources: [(path: String, endings: [String])]
        public let packages: [String]
        public init(name: String, description: String, sources: [(path: String, endings: [String])], packages: [String]) {
            self.name = name
            self.description = description
            self.sources = sources
            self.packages = packages
        }
    }

    public static let publicDomain = "public"

    /// Each from one package's own directory, so the bytes are the package's and not whatever else
    /// the machine has installed (a domain over all of /usr/include or /usr/share/doc was not). The
    /// report records each corpus's digest and each package's version.
    public static let privateDomains: [Domain] = [
        Domain(name: "linux-uapi", description: "Linux kernel user-space API headers (/usr/include/linux, package linux-libc-dev)",
               sources: [("/usr/include/linux", [".h"])], packages: ["linux-libc-dev"]),
        // Perl rather than Python: SmolLM2 already knows Python's standard library well (0.79 bits per
        // byte on a sample, against 1.12 for Perl's modules and 1.29 for the locales), so a few expert
        // steps could not improve it (measured: 0.812 → 0.819).
        Domain(name: "perl", description: "Perl's standard modules (/usr/share/perl/5.36.0, package perl-modules-5.36)",
               sources: [("/usr/share/perl/5.36.0", [".pm"])], packages: ["perl-modules-5.36"]),
        Domain(name: "locales", description: "glibc locale definitions (/usr/share/i18n/locales, package locales)",
               sources: [("/usr/share/i18n/locales", [""])], packages: ["locales"]),
    ]
    /// The packages the public text comes from.
    public static let publicPackages = ["fortunes", "fortunes-min", "jargon"]

    /// Public code, from a package no owner uses: the signature space is fitted on it and the prose,
    /// since a projection fitted on prose alone cannot represent headers, scripts or maps (bench-signature).
    public static let publicCode = Domain(name: "public-code", description: "Go's standard library (/usr/share/go-1.19/src, package golang-1.19-src)",
                                          sources: [("/usr/share/go-1.19/src", [".go"])], packages: ["golang-1.19-src"])

    /// The open set: text of packages nobody contributes, chosen before measuring, routed through
    /// `/v1/route` to see how often it goes to the anchor (two are code or configuration).
    public static let openSet: [Domain] = [
        Domain(name: "python", description: "Python's standard library (/usr/lib/python3.11, package libpython3.11-stdlib)",
               sources: [("/usr/lib/python3.11", [".py"])], packages: ["libpython3.11-stdlib"]),
        Domain(name: "xkb", description: "X keyboard symbol maps (/usr/share/X11/xkb/symbols, package xkb-data)",
               sources: [("/usr/share/X11/xkb/symbols", [""])], packages: ["xkb-data"]),
        Domain(name: "git-docs", description: "Git's documentation (/usr/share/doc/git, package git)",
               sources: [("/usr/share/doc/git", [".txt"])], packages: ["git"]),
    ]

    /// Where the routing stage's queries are: a second sample of each private domain (files the
    /// owners did not train on), and the open set.
    public static func queryDirectory(_ workdir: String, _ name: String) -> String { workdir + "/corpora/queries/" + name }

    /// Writes the public code (`codeDocuments` files) and the queries (`queryDocuments` per domain),
    /// skipping what is there; returns document counts.
    public func prepareRoutingText(workdir: String, codeDocuments: Int, queryDocuments: Int, log: (String) -> Void = { _ in }) throws -> [String: Int] {
        var counts = [String: Int](), code = self, queries = self
        code.documentsPerDomain = codeDocuments
        counts[Self.publicCode.name] = try code.preparePrivate(Self.publicCode, into: Self.directory(workdir, Self.publicCode.name), log: log)
        queries.documentsPerDomain = queryDocuments
        for d in Self.privateDomains {
            counts["queries/" + d.name] = try queries.preparePrivate(d, into: Self.queryDirectory(workdir, d.name), skip: documentsPerDomain, log: log)
        }
        for d in Self.openSet { counts["queries/" + d.name] = try queries.preparePrivate(d, into: Self.queryDirectory(workdir, d.name), log: log) }
        return counts
    }

    /// What a corpus is, for the report: documents, bytes and the digest of its documents' content
    /// hashes (`Corpus.fingerprint`; same digest, same text), and the packages' installed versions.
    public struct Digest: Sendable {
        public let name: String
        public let documents: Int
        public let bytes: Int
        public let fingerprint: String
        public let packages: [String]
    }

    public static func digests(workdir: String) throws -> [Digest] {
        try ([(publicDomain, publicPackages), (publicCode.name, publicCode.packages)] + privateDomains.map { ($0.name, $0.packages) }).map { name, packages in
            let c = try Corpus.load(paths: [directory(workdir, name)])
            return Digest(name: name, documents: c.documents.count, bytes: c.totalBytes, fingerprint: c.fingerprint,
                          packages: packages.map { "\($0) \(installedVersion($0) ?? "not installed")" })
        }
    }

    static func installedVersion(_ package: String) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        p.arguments = ["-W", "-f=${Version}", package]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let v = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return p.terminationStatus == 0 && !v.isEmpty ? v : nil
    }

    public var documentsPerDomain: Int
    public var bytesPerDocument: Int
    public var publicBytes: Int
    /// Public records are grouped into documents of about this many bytes.
    public var publicDocumentBytes: Int

    public init(documentsPerDomain: Int = 700, bytesPerDocument: Int = 6000, publicBytes: Int = 4_000_000, publicDocumentBytes: Int = 4000) {
        self.documentsPerDomain = documentsPerDomain
        self.bytesPerDocument = bytesPerDocument
        self.publicBytes = publicBytes
        self.publicDocumentBytes = publicDocumentBytes
    }

    public static func directory(_ workdir: String, _ name: String) -> String { workdir + "/corpora/" + name }

    /// Writes every corpus under WORKDIR/corpora (skipping those already there), returns document counts.
    @discardableResult
    public func prepare(workdir: String, log: (String) -> Void = { _ in }) throws -> [String: Int] {
        var counts = [String: Int]()
        counts[Self.publicDomain] = try preparePublic(Self.directory(workdir, Self.publicDomain), log: log)
        for d in Self.privateDomains {
            counts[d.name] = try preparePrivate(d, into: Self.directory(workdir, d.name), log: log)
        }
        return counts
    }

    /// Fortune cookies (records split at "%" lines) and the Jargon File (nodes split at 0x1F), grouped
    /// into documents of about `publicDocumentBytes`.
    func preparePublic(_ dir: String, log: (String) -> Void) throws -> Int {
        if let n = existing(dir) { return n }
        var records = [String]()
        let fortunes = "/usr/share/games/fortunes"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: fortunes) {
            for name in names.sorted() where !name.contains(".") {
                guard let text = try? String(contentsOfFile: fortunes + "/" + name, encoding: .utf8) else { continue }
                records += text.components(separatedBy: "\n%\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { $0.count > 20 }
            }
        }
        if let jargon = try? gunzip("/usr/share/info/jargon.info.gz") {
            records += String(decoding: jargon, as: UTF8.self).split(separator: "\u{1F}").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { $0.count > 40 }
        }
        guard !records.isEmpty else {
            throw TributaryError("demo.corpus_missing", "no public text found: install the fortunes and jargon packages (scripts/setup.sh does)")
        }
        var docs = [String](), current = "", total = 0
        for r in records {
            current += r + "\n\n"
            if current.utf8.count >= publicDocumentBytes {
                docs.append(current)
                total += current.utf8.count
                current = ""
                if total >= publicBytes { break }
            }
        }
        if !current.isEmpty && total < publicBytes { docs.append(current) }
        try write(docs.map { Array($0.utf8) }, to: dir, ext: ".txt")
        log("corpus public: \(docs.count) documents (fortunes and the Jargon File)")
        return docs.count
    }

    /// Up to `documentsPerDomain` files, picked by SHA-256 of their content (so the sample spreads over
    /// the whole tree and is the same on every machine with the same packages), each cut to
    /// `bytesPerDocument`, after the first `skip` in that order (another sample of the same package,
    /// disjoint from the first). SHA-256, not the BLAKE2b that decides the train/held-out split: picking
    /// by the split's own hash would put most picked documents on one side of it.
    public func preparePrivate(_ domain: Domain, into dir: String, skip: Int = 0, log: (String) -> Void) throws -> Int {
        if let n = existing(dir) { return n }
        var files = [String]()
        let fm = FileManager.default
        for (root, endings) in domain.sources {
            guard let e = fm.enumerator(atPath: root) else { continue }
            while let rel = e.nextObject() as? String {
                let path = root + "/" + rel
                guard endings.contains(where: { $0.isEmpty ? !rel.contains("/") : path.hasSuffix($0) }) else { continue }
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= 512 else { continue }
                files.append(path)
            }
        }
        var docs = [(key: [UInt8], bytes: [UInt8])]()
        var seen = Set<[UInt8]>()
        for path in files {
            guard let data = fm.contents(atPath: path) else { continue }
            let bytes = [UInt8](data.prefix(bytesPerDocument))
            let key = SHA256.digest(bytes)
            guard seen.insert(key).inserted else { continue }  // identical files count once
            docs.append((key, bytes))
        }
        guard docs.count >= skip + 50 else {
            throw TributaryError("demo.corpus_missing", "only \(docs.count) documents for \(domain.name), \(skip + 50) needed; install \(domain.packages.joined(separator: ", ")) (scripts/setup.sh does)")
        }
        let picked = docs.sorted { $0.key.lexicographicallyPrecedes($1.key) }.dropFirst(skip).prefix(documentsPerDomain).map(\.bytes)
        try write(Array(picked), to: dir, ext: ".txt")
        log("corpus \(domain.name): \(picked.count) documents from \(domain.description)")
        return picked.count
    }

    func existing(_ dir: String) -> Int? {
        guard FileManager.default.fileExists(atPath: dir + "/.complete"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        return names.filter { !$0.hasPrefix(".") }.count
    }

    /// Writes documents as 00000.txt, ... then a `.complete` marker, so a half-written corpus is redone.
    func write(_ docs: [[UInt8]], to dir: String, ext: String) throws {
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (i, d) in docs.enumerated() {
            try AtomicFileWriter.write(d, to: dir + "/" + String(format: "%05d", i) + ext)
        }
        try AtomicFileWriter.write([UInt8](), to: dir + "/.complete")
    }

    func gunzip(_ path: String) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TributaryError("demo.corpus_missing", "could not decompress \(path)") }
        return [UInt8](data)
    }
}
