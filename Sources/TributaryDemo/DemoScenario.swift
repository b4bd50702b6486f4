import Foundation
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting

/// `tributary demo`: the whole protocol on one machine. Every role runs the real CLI in its own
/// process: the operator serves on loopback, three data owners train, sign and submit over HTTP, the
/// operator releases, an auditor audits, one owner opts out, and the new release is audited again.
/// Then every model is evaluated on held-out text of every domain.
///
///     WORKDIR/corpora/   the Debian text, prepared once            (kept between runs)
///     WORKDIR/anchor/    the pretrained anchor                      (kept; retrained only if settings change)
///     WORKDIR/run/       keys, server data, owners' outputs, auditor state, downloaded releases (fresh each run)
///     WORKDIR/report.md, WORKDIR/chart.svg (and chart.png where rsvg-convert is installed)
public struct DemoOptions: Sendable {
    /// The demo server's log origin: what every statement and signed request names.
    public static let origin = "demo.tributary/log"
    public var workdir = ".demo"
    /// The `tributary` executable every role runs.
    public var binary: String
    public var anchorConfig = "small"
    public var anchorSteps = 1200
    public var expertSteps = 300
    public var threads = 2
    public var corpora = DemoCorpora()
    /// Organisations and their private domains, in submission order.
    public var organisations: [(name: String, domain: String)] = [("acme", "c-headers"), ("globex", "python"), ("initech", "legal")]
    /// The organisation that opts out after the first release.
    public var optOut = "initech"
    /// Held-out bytes evaluated per domain.
    public var evaluationBytes = 200_000
    public var epsilon = 1.0

    public init(binary: String) { self.binary = binary }

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
    }
    public var contributions: [Contribution] = []
    /// Release number → organisations of its experts (after the anchor), in order.
    public var releases: [(number: Int, organisations: [String])] = []
    public var audits: [(afterRelease: Int, logSize: UInt64, checks: Int)] = []
    public var stageSeconds: [(stage: String, seconds: Double)] = []
    public var anchorCached = false
    public var table: EvaluationTable?
    public var serverURL = ""
}

public final class DemoScenario: @unchecked Sendable {
    let o: DemoOptions
    let cli: ChildCommand
    let say: (String) -> Void
    var outcome = DemoOutcome()
    var stageNumber = 0
    static let stages = 10

    public init(options: DemoOptions, log: @escaping (String) -> Void) {
        o = options
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
        let keys = o.run + "/keys", orgs = o.run + "/owners", corpora = o.workdir + "/corpora"
        try await stage("Preparing the corpora from Debian packages (public prose + three private domains)") {
            let counts = try o.corpora.prepare(workdir: o.workdir) { self.say("      " + $0) }
            say("      " + counts.keys.sorted().map { "\($0): \(counts[$0]!) documents" }.joined(separator: ", "))
        }
        try await stage("Pretraining the public anchor (\(o.anchorConfig), \(o.anchorSteps) steps)") {
            try trainAnchor(corpus: DemoCorpora.directory(o.workdir, DemoCorpora.publicDomain))
        }
        try? fm.removeItem(atPath: o.run)
        try fm.createDirectory(atPath: keys, withIntermediateDirectories: true)

        let server = try await stage("Operator: keys, then `tributary serve` on loopback") { () -> ServerProcess in
            try run(["keygen", "--name", "operator", "--out", keys])
            for org in o.organisations { try run(["keygen", "--name", org.name, "--out", keys]) }
            let s = ServerProcess(binary: o.binary, arguments: [
                "--dir", o.run + "/server", "--anchor", o.anchor, "--probe", DemoCorpora.directory(o.workdir, DemoCorpora.publicDomain),
                "--origin", DemoOptions.origin, "--operator-key", keys + "/operator.pub", "--no-auto-release", "--log-level", "warning"],
                port: try ServerProcess.freePort(), logFile: o.run + "/server.log")
            try await s.start()
            say("      serving on \(s.url) (log: \(o.run)/server.log)")
            return s
        }
        outcome.serverURL = server.url
        defer { server.stop() }
        let url = server.url, logKey = o.run + "/server/log.pub", operatorKey = keys + "/operator.key"

        try await stage("Operator: enrolling \(o.organisations.map(\.name).joined(separator: ", "))") {
            for org in o.organisations {
                let out = try run(["admin", "enroll", "--server", url, "--operator-key", operatorKey, "--name", org.name,
                                   "--pubkey", keys + "/\(org.name).pub"])
                // The answer's first words; the rest is the signed checkpoint and proof the command checked.
                say("      " + (out.components(separatedBy: ": {").first ?? out).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        try await stage("Data owners: train an expert each (own process), sign, verify, submit over HTTP") {
            for org in o.organisations {
                let out = orgs + "/" + org.name, t0 = Date()
                say("      -- \(org.name) trains on its \(org.domain) text, which never leaves \(out)")
                try run(["train", "--anchor", o.anchor, "--data", corpora + "/" + org.domain, "--public-text",
                         DemoCorpora.directory(o.workdir, DemoCorpora.publicDomain), "--out", out, "--steps", String(o.expertSteps),
                         "--threads", String(o.threads), "--epsilon", String(o.epsilon), "--restart"], showOutput: true)
                let seconds = Date().timeIntervalSince(t0)
                try run(["sign", out + "/bundle", "--key", keys + "/\(org.name).key", "--origin", DemoOptions.origin])
                try run(["verify", out + "/bundle", "--pubkey", keys + "/\(org.name).pub"])
                let r = try json(["submit", "--server", url, "--log-key", logKey, out + "/bundle", "--json"])
                guard let index = Self.integer(r["logIndex"]) else {
                    throw TributaryError("demo.bad_output", "submit answered without a log index: \(JSONWriter.string(r))")
                }
                say("      \(org.name)'s contribution accepted at log index \(index), inclusion proof checked")
                outcome.contributions.append(.init(organisation: org.name, domain: org.domain, logIndex: index, trainingSeconds: seconds))
            }
        }
        let first = try await stage("Operator: publish the combined MoE; auditor: audit the log and the release") { () -> Int in
            let n = try release(url: url, operatorKey: operatorKey)
            try audit(url: url, logKey: logKey, after: n)
            return n
        }
        guard let leaving = outcome.contributions.first(where: { $0.organisation == o.optOut }) else {
            throw TributaryError("demo.bad_options", "the opt-out organisation \(o.optOut) is not one of the organisations")
        }
        let second = try await stage("\(o.optOut) opts out; operator: new release; auditor: audit again") { () -> Int in
            say("      " + (try run(["revoke", "--server", url, "--key", keys + "/\(o.optOut).key", String(leaving.logIndex)]))
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
            let files = try DemoReport(options: o, outcome: outcome).write(to: o.workdir)
            for f in files { say("      wrote \(f)") }
        }
        return outcome
    }

    static func integer(_ v: JSONValue?) -> UInt64? {
        if case let .number(text)? = v { return UInt64(text) }
        return nil
    }

    func releaseDirectory(_ n: Int) -> String { o.run + "/releases/\(n)" }

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
        let r = try json(["audit", "--server", url, "--log-key", logKey, "--operator-key", o.run + "/keys/operator.pub",
                          "--state", o.run + "/auditor", "--all-releases", "--json"])
        guard case .bool(true)? = r["verified"], let size = Self.integer(r["logSize"]),
              case let .array(checks)? = r["checks"] else {
            throw TributaryError("demo.audit_failed", "the audit did not verify: \(JSONWriter.string(r))")
        }
        outcome.audits.append((release, size, checks.count))
        say("      audit verified: log size \(size), \(checks.count) checks passed, release \(release) compared tensor by tensor")
    }

    /// Trains the anchor unless WORKDIR/anchor already holds one made with the same settings and corpus.
    func trainAnchor(corpus: String) throws {
        let settings = JSONWriter.string(.object([("config", .string(o.anchorConfig)), ("steps", .int(o.anchorSteps)),
                                                  ("corpus", .string(try Corpus.load(paths: [corpus]).fingerprint))]))
        let marker = o.anchor + "/demo-settings.json"
        if let old = try? readSmallFile(marker, limit: 1 << 16), String(decoding: old, as: UTF8.self) == settings,
           FileManager.default.fileExists(atPath: o.anchor + "/" + AnchorDirectory.summaryFile) {
            outcome.anchorCached = true
            say("      cached in \(o.anchor) (same settings and corpus); delete it to retrain")
            return
        }
        try? FileManager.default.removeItem(atPath: o.anchor)
        try run(["anchor", "train", "--corpus", corpus, "--config", o.anchorConfig, "--steps", String(o.anchorSteps),
                 "--threads", String(o.threads), "--out", o.anchor], showOutput: true)
        try AtomicFileWriter.write(Array(settings.utf8), to: marker)
    }

    func evaluate(first: Int, second: Int) throws -> EvaluationTable {
        let anchor = try AnchorDirectory.load(o.anchor)
        let combined = try ModelDirectory.load(releaseDirectory(first))
        let index = try RoutingIndex.read(releaseDirectory(first) + "/" + RoutingIndex.fileName)
        let after = try ModelDirectory.load(releaseDirectory(second))
        let organisations = try outcome.contributions.map {
            EvaluationInputs.Organisation(name: $0.organisation, domain: $0.domain, model: try ModelDirectory.load(o.run + "/owners/\($0.organisation)/model"))
        }
        let domains = [DemoCorpora.publicDomain] + o.organisations.map(\.domain)
        let held = try domains.map { ($0, try DemoHeldOut.load(DemoCorpora.directory(o.workdir, $0), maxBytes: o.evaluationBytes)) }
        say("      held-out text: " + held.map { "\($0.0) \($0.1.documents.count) documents" }.joined(separator: ", "))
        let table = try DemoEvaluation.run(EvaluationInputs(anchor: anchor.model, organisations: organisations, combined: combined, index: index,
                                                            releaseOrder: outcome.releases.first?.organisations ?? [],
                                                            afterOptOut: (o.optOut, after), heldOut: held), workers: o.threads) { self.say("      " + $0) }
        return table
    }
}
