import Foundation
import TributaryCore
import TributaryModel
import TributaryHarness

/// The routing-signature benchmark's text: one Debian package's files per domain (the demo's three
/// private domains and eight more), and the public text the signature space is fitted on.
public enum StudyCorpora {
    static func domain(_ name: String, _ description: String, _ path: String, _ endings: [String], _ package: String) -> DemoCorpora.Domain {
        DemoCorpora.Domain(name: name, description: description, sources: [(path, endings)], packages: [package])
    }

    /// Owners' domains: code, configuration and documentation of ten packages, each with enough files
    /// (≥ 360 of at least 512 bytes) for 256 training and 60 held-out documents.
    public static let owners: [DemoCorpora.Domain] = DemoCorpora.privateDomains + [
        DemoCorpora.openSet[0],
        domain("vim", "Vim's runtime scripts", "/usr/share/vim", [".vim"], "vim-runtime"),
        DemoCorpora.openSet[2],
        domain("cpp-headers", "the C++ standard library's headers", "/usr/include/c++/12", [".h", ".tcc"], "libstdc++-12-dev"),
        domain("npm", "npm's JavaScript sources", "/usr/lib/node_modules/npm", [".js"], "nodejs"),
        domain("alsa", "ALSA's card and use-case configuration", "/usr/share/alsa", [".conf"], "alsa-ucm-conf"),
        domain("gcloud-yaml", "Google Cloud CLI's YAML command definitions", "/usr/lib/google-cloud-sdk/lib", [".yaml"], "google-cloud-cli"),
    ]

    /// Public code and configuration, from packages no owner uses: what a signature space fitted on
    /// prose alone cannot represent (headers, scripts, maps).
    public static let publicCode: [DemoCorpora.Domain] = [
        domain("public-go", "Go's standard library", "/usr/share/go-1.19/src", [".go"], "golang-1.19-src"),
        domain("public-poms", "Maven project descriptors (XML)", "/usr/share/maven-repo", [".pom"], "maven-repo-helper"),
    ]

    /// Where a domain's documents are written.
    public static func directory(_ workdir: String, _ name: String) -> String { workdir + "/study/" + name }

    /// Writes every owner domain (up to `documents` files each, `bytes` each) and the demo's public
    /// text; skips what is there.
    public static func prepare(workdir: String, documents: Int, bytes: Int, log: (String) -> Void) throws {
        let corpora = DemoCorpora(documentsPerDomain: documents, bytesPerDocument: bytes)
        try corpora.prepare(workdir: workdir, log: log)
        for d in owners + publicCode { _ = try corpora.preparePrivate(d, into: directory(workdir, d.name), log: log) }
    }
}
