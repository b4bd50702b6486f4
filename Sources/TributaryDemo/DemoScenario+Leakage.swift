import Foundation
import TributaryContribution
import TributaryCore
import TributaryHarness
import TributaryModel

/// A DP-SGD owner's part of the demo: its text with canaries planted, and the leakage audit it runs
/// on its own model before it uploads (`tributary privacy-audit`: membership inference against the
/// anchor, canary exposure).
extension DemoScenario {
    /// Canaries planted once in one document and once in ten (The Secret Sharer's repetitions).
    static let canaryRepetitions = [1, 10]

    /// Writes the training split of `domainDirectory` (what `tributary train` trains on by default;
    /// the held-out documents, `DemoHeldOut`'s, stay out, so the demo's evaluation never scores text
    /// this owner trained on) to `out`, with canaries appended. The owner then trains on all of `out`
    /// (`--held-out 0`), so every member is a training document. A fixed seed: a rerun writes the same
    /// text, and `OwnerCache` can reuse the expert.
    func plantCanaries(from domainDirectory: String, to out: String) throws -> [CanaryExposure.Planted] {
        let train = try Corpus.load(paths: [domainDirectory]).split(heldOutFraction: DemoHeldOut.fraction).train
        var texts = train.documents.map(\.bytes)
        var rng = RNG(seed: 29)
        let planted = try CanaryExposure.plant(into: &texts, repetitions: Self.canaryRepetitions, rng: &rng)
        try? FileManager.default.removeItem(atPath: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for (i, t) in texts.enumerated() { try Data(t).write(to: URL(fileURLWithPath: out + String(format: "/%06d.txt", i))) }
        return planted
    }

    /// `tributary privacy-audit` on the owner's model (anchor + its expert): members are every
    /// document it trained on, non-members the second sample of its domain that nobody trained on.
    func leakageAudit(organisation: String, epsilon: Double, model: String, members: String, domain: String,
                      canaries: [CanaryExposure.Planted]) throws -> DemoOutcome.LeakageAudit {
        let t0 = Date()
        let r = try json(["privacy-audit", "--model", model, "--anchor", options.anchor, "--members", members,
                          "--non-members", DemoCorpora.queryDirectory(options.workdir, domain),
                          "--max-document-bytes", String(options.leakageDocumentBytes), "--candidates", String(options.leakageCandidates),
                          "--threads", String(options.threads), "--json"] + canaries.flatMap { ["--canary", "\($0.secret):\($0.repetitions)"] })
        func number(_ v: JSONValue?) throws -> Double {
            guard case let .number(text)? = v, let x = Double(text) else { throw TributaryError("demo.audit_failed", "privacy-audit answered \(JSONWriter.string(r))") }
            return x
        }
        func interval(_ v: JSONValue?) throws -> ClosedRange<Double> {
            guard case let .array(a)? = v, a.count == 2, let lo = try? number(a[0]), let hi = try? number(a[1]), lo <= hi else {
                throw TributaryError("demo.audit_failed", "privacy-audit answered \(JSONWriter.string(r))")
            }
            return lo...hi
        }
        func count(_ v: JSONValue?) throws -> Int {
            guard let n = Self.integer(v), n <= UInt64(Int.max) else { throw TributaryError("demo.audit_failed", "privacy-audit answered \(JSONWriter.string(r))") }
            return Int(n)
        }
        let m = r["membership"]
        guard case let .array(exposures)? = r["exposure"] else { throw TributaryError("demo.audit_failed", "privacy-audit answered \(JSONWriter.string(r))") }
        let audit = DemoOutcome.LeakageAudit(
            organisation: organisation, epsilon: epsilon, members: try count(m?["members"]), nonMembers: try count(m?["nonMembers"]),
            auc: try number(m?["auc"]), aucInterval: try interval(m?["aucInterval"]),
            tprAt1Percent: try number(m?["tprAt1PercentFPR"]), tprAt1PercentInterval: try interval(m?["tprAt1PercentFPRInterval"]),
            exposures: try exposures.map { e in
                (repetitions: try count(e["repetitions"]), exposure: try number(e["exposure"]), anchorExposure: try number(e["anchorExposure"]))
            },
            candidates: options.leakageCandidates, seconds: Date().timeIntervalSince(t0))
        say(String(format: "      %@'s leakage audit: membership AUC %.3f [%.3f, %.3f], TPR at 1%% FPR %.3f; exposure ", organisation, audit.auc,
                   audit.aucInterval.lowerBound, audit.aucInterval.upperBound, audit.tprAt1Percent)
            + audit.exposures.map { String(format: "x%d %.2f bits (anchor %.2f)", $0.repetitions, $0.exposure, $0.anchorExposure) }.joined(separator: ", "))
        return audit
    }
}
