import Foundation
import TributaryContribution
import TributaryCore
import TributaryModel

/// Reruns of the demo reuse an owner's trained expert when nothing that made it has changed: the
/// anchor (its identity digest), the owner's text and the public text (their fingerprints), every
/// `tributary train` option, and the `tributary` binary itself (its digest). What is reused is what
/// `tributary train` wrote — the unsigned bundle, its summary — so the owner still signs, verifies and
/// submits it, and the server checks it like any upload. Training is deterministic given its seeds;
/// only the DP noise of the routing signature is fresh each run, so a cached rerun keeps the noise
/// of the run that trained. Entries older than a week are not reused (the server refuses statements
/// older than 30 days by default).
struct OwnerCache {
    /// WORKDIR/experts: one directory per organisation, with `cache-settings.json` beside its files.
    let directory: String
    /// Read once per run (the anchor's weights are ~0.5 GB), shared by every owner's settings.
    let anchorDigest: String, binaryDigest: String
    static let maxAge: TimeInterval = 7 * 86_400
    static let settingsFile = "cache-settings.json"

    init(directory: String, anchor: String, binary: String) throws {
        self.directory = directory
        anchorDigest = try AnchorDirectory.digest(anchor)
        binaryDigest = Hex.encode(try SHA256.digest(fileAt: binary, noFollow: false).digest)
    }

    func settings(train arguments: [String], corpora: [String]) throws -> String {
        JSONWriter.string(.object([
            ("train", .array(arguments.map { .string($0) })),
            ("anchor", .string(anchorDigest)),
            ("corpora", .array(try corpora.map { .string(try Corpus.load(paths: [$0]).fingerprint) })),
            ("binary", .string(binaryDigest)),
        ]))
    }

    /// The cached output of `organisation` made with `settings`, if there is one.
    func lookup(_ organisation: String, settings: String) -> String? {
        let dir = directory + "/" + organisation
        return SettingsMarker(path: dir + "/" + Self.settingsFile).matches(settings, maxAge: Self.maxAge) ? dir : nil
    }

    /// Keeps a copy of `out` (what `tributary train` wrote) for later runs: copied aside, then
    /// renamed into place, so an interrupted copy is never mistaken for a whole one.
    func store(_ organisation: String, from out: String, settings: String) throws {
        let fm = FileManager.default
        let dir = directory + "/" + organisation, staging = directory + "/." + organisation + "-" + Hex.encode(secureRandomBytes(4))
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try fm.copyItem(atPath: out, toPath: staging)
        try SettingsMarker(path: staging + "/" + Self.settingsFile).write(settings)
        try? fm.removeItem(atPath: dir)
        try fm.moveItem(atPath: staging, toPath: dir)
    }

    /// Puts a cached output where `tributary train` would have written it.
    func restore(_ cached: String, to out: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: out)
        try fm.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try fm.copyItem(atPath: cached, toPath: out)
        try? fm.removeItem(atPath: out + "/" + Self.settingsFile)
    }
}
