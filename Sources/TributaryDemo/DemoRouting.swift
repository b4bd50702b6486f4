import Foundation
import TributaryCore
import TributaryModel
import TributaryHarness

/// The demo's routing check: held-out text sent through the server's `/v1/route` by the real CLI
/// (`tributary route --server --files`), counting which expert each document names first. Private
/// domains should name their owner's expert, public text and the open set the anchor.
public struct DemoRoutingCheck: Sendable {
    public struct Row: Sendable {
        public let domain: String
        /// What the documents should name first: an organisation, or "anchor".
        public let expected: String
        /// Whether the domain is one nobody contributed (the open set).
        public let openSet: Bool
        public let documents: Int
        /// Expert name → documents that named it first.
        public let firsts: [String: Int]

        public var correct: Int { firsts[expected] ?? 0 }
        public var accuracy: Double { documents == 0 ? 0 : Double(correct) / Double(documents) }
    }
    public var rows: [Row] = []
    public var seconds = 0.0

    /// The targets (issue 26): ≥ 95% of each private domain's documents name its expert, ≥ 90% of
    /// public documents the anchor. The open set has no target; its share to the anchor is reported.
    public static let privateTarget = 0.95, publicTarget = 0.90

    public var markdown: String {
        var md = ["| held-out text | documents | should name first | named it | share | other first choices |", "|---|---:|---|---:|---:|---|"]
        for r in rows {
            let others = r.firsts.filter { $0.key != r.expected }.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let target = r.openSet ? "" : r.expected == "anchor" ? " (target 90%)" : " (target 95%)"
            md.append("| \(r.domain)\(r.openSet ? " (open set)" : "") | \(r.documents) | \(r.expected) | \(r.correct) | "
                      + String(format: "%.1f%%", 100 * r.accuracy) + target + " | \(others.isEmpty ? "—" : others) |")
        }
        return md.joined(separator: "\n")
    }

    /// Parses `tributary route --json`'s answer: its `first` object of counts.
    static func firsts(_ answer: JSONValue) throws -> [String: Int] {
        guard case let .object(members)? = answer["first"] else {
            throw TributaryError("demo.bad_output", "`tributary route --json` answered without first choices: \(JSONWriter.string(answer))")
        }
        var out = [String: Int]()
        for (name, value) in members {
            guard case let .number(text) = value, let n = Int(text) else { throw TributaryError("demo.bad_output", "a first-choice count is not an integer") }
            out[name] = n
        }
        return out
    }
}

extension DemoScenario {
    /// Routes every query directory through the server's current release.
    func checkRouting(url: String) throws -> DemoRoutingCheck {
        let t0 = Date()
        var check = DemoRoutingCheck()
        var cases: [(domain: String, expected: String, openSet: Bool, files: [String])] = []
        cases.append((DemoCorpora.publicDomain, "anchor", false, try publicQueryFiles()))
        for org in options.organisations { cases.append((org.domain, org.name, false, [DemoCorpora.queryDirectory(options.workdir, org.domain)])) }
        for d in DemoCorpora.openSet { cases.append((d.name, "anchor", true, [DemoCorpora.queryDirectory(options.workdir, d.name)])) }
        for c in cases {
            let answer = try json(["route", "--server", url, "--files"] + c.files + ["--top-k", "1", "--per-request", options.anchorKind == .builtin ? "4" : "24", "--json"])
            let firsts = try DemoRoutingCheck.firsts(answer)
            let row = DemoRoutingCheck.Row(domain: c.domain, expected: c.expected, openSet: c.openSet, documents: firsts.values.reduce(0, +), firsts: firsts)
            check.rows.append(row)
            say(String(format: "      %@: %d of %d name %@ first (%.1f%%)", c.domain, row.correct, row.documents, c.expected, 100 * row.accuracy))
        }
        check.seconds = Date().timeIntervalSince(t0)
        return check
    }

    /// The last `routeDocuments` public documents. On SmolLM2 they come after the ones the anchor's
    /// router rows and signature space were computed over (`importBytes`, `signaturePublicBytes`), so
    /// unseen by both; the built-in anchor was pretrained on all of its public text.
    func publicQueryFiles() throws -> [String] {
        let dir = DemoCorpora.directory(options.workdir, DemoCorpora.publicDomain)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        if options.anchorKind == .smollm2 {
            var read = Corpus.LoadOptions()
            read.maxTotalBytes = max(options.importBytes, options.signaturePublicBytes)
            let used = try Corpus.load(paths: [dir], options: read).documents.count
            guard names.count - used >= options.routeDocuments else {
                throw TributaryError("demo.corpus_missing", "the public corpus has \(names.count) documents, \(used) used by the anchor: too few left to route \(options.routeDocuments)")
            }
        }
        return names.suffix(options.routeDocuments).map { dir + "/" + $0 }
    }
}
