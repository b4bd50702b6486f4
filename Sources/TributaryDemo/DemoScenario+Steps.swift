import Foundation
import TributaryContribution
import TributaryAPI
import TributaryCore
import TributaryHarness
import TributaryModel
import TributaryRouting

/// The operator's releases, the auditor's audits and the final evaluation, as the demo runs them.
extension DemoScenario {
    func release(url: String, operatorKey: String) throws -> Int {
        let r = try ReleaseAnswer(json: try json(["admin", "release", "--server", url, "--operator-key", operatorKey]))
        let n = r.release, names = r.manifest.experts.map(\.organisation)
        let tuned = r.manifest.routerTuning.map { t in
            " (router rows tuned: \(t.samplesPerExpert) samples × \(t.sampleTokens) tokens per expert, \(t.steps) steps of \(t.batchSize) × \(t.seqLen), a public batch every \(t.publicEvery))"
        } ?? ""
        outcome.releases.append((n, names, tuned))
        say("      release \(n): experts anchor, \(names.joined(separator: ", "))" + tuned)
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
