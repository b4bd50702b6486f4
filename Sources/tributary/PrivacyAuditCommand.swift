import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel

/// What an owner runs before uploading (or anyone on a release): the three attacks of the leakage
/// audit against a model that holds the owner's expert, beside the anchor alone.
struct PrivacyAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy-audit",
        abstract: "Attack a model for leakage of training documents: canary exposure, membership inference, verbatim extraction.",
        discussion: """
        --model is the model to audit: an owner's OUT/model (anchor + own expert) or a release. \
        Membership inference scores each document's log-likelihood per token under the model minus under \
        the anchor (the reference); --members must be documents training really sampled, --non-members \
        documents it never saw (e.g. the held-out split). Canaries (--canary SECRET:TIMES, planted with \
        CanaryExposure's format, e.g. by `tributary-dev plant-canaries`) get their exposure over 10^9 \
        candidates, extrapolated from --candidates sampled ones. Extraction prompts with 32-token \
        prefixes of members and counts greedy 32-token continuations within 0.9 normalised Levenshtein \
        similarity of the truth.
        """)

    @Option(help: "The model to audit (a model directory: an owner's OUT/model or a release).") var model: String
    @Option(help: "The anchor directory: the reference for membership inference, and the baseline row.") var anchor: String
    @Option(parsing: .upToNextOption, help: "Documents the training sampled (files or directories).") var members: [String] = []
    @Option(parsing: .upToNextOption, help: "Documents the training never saw.") var nonMembers: [String] = []
    @Option(parsing: .upToNextOption, help: "Planted canaries, SECRET:TIMES (the nine-digit secret and how often it was planted).") var canary: [String] = []
    @Option(help: "Sampled candidates for the exposure fit (at least 100; 10,000 for published figures).") var candidates = 2000
    @Option(help: "Members to try verbatim extraction on (0: skip; each costs 32 decoding steps per model).") var extraction = 0
    @Option(help: "Documents of each kind to use at most.") var maxDocuments = 500
    @OptionGroup var corpusOptions: CorpusOptions
    @Option(help: "Worker threads.") var threads = 2
    @Flag(help: "Print JSON.") var json = false

    func canaries() throws -> [(secret: String, repetitions: Int)] {
        try canary.map { spec in
            let parts = spec.split(separator: ":")
            guard parts.count == 2, parts[0].count == CanaryExposure.digits, parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
                  let times = Int(parts[1]), times >= 1 else {
                throw TributaryError("audit.invalid_options", "--canary \(spec): expected SECRET:TIMES with a \(CanaryExposure.digits)-digit secret")
            }
            return (String(parts[0]), times)
        }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let planted = try canaries()
            guard !planted.isEmpty || (!members.isEmpty && !nonMembers.isEmpty) else {
                throw TributaryError("audit.invalid_options", "nothing to attack: give --members and --non-members, or --canary")
            }
            let audited = try ModelDirectory.load(model), reference = try AnchorDirectory.load(anchor).model
            func documents(_ paths: [String]) throws -> Corpus? {
                guard !paths.isEmpty else { return nil }
                let c = try corpusOptions.load(paths)
                return Corpus(documents: Array(c.documents.prefix(maxDocuments)))
            }
            let inside = try documents(members), outside = try documents(nonMembers)
            var out = [(String, JSONValue)]()
            var rows = [["attack", "anchor alone", "audited model"]]
            if let inside, let outside {
                let mia = try MembershipInference.run(model: audited, anchor: reference, members: inside, nonMembers: outside, workers: threads)
                out.append(("membership", mia.json))
                rows.append(["membership AUC (95% CI)", "0.5 (the reference)", String(format: "%.3f [%.3f, %.3f]", mia.auc, mia.aucInterval.lowerBound, mia.aucInterval.upperBound)])
                rows.append(["TPR at 1% FPR (95% CI)", "0.01", String(format: "%.3f [%.3f, %.3f]", mia.tprAt1Percent, mia.tprAt1PercentInterval.lowerBound, mia.tprAt1PercentInterval.upperBound)])
                rows.append(["TPR at 0.1% FPR", "0.001", mia.resolvesTenthPercent ? String(format: "%.3f", mia.tprAtTenthPercent) : "(needs 1,000 non-members)"])
            }
            if !planted.isEmpty {
                let mine = try CanaryExposure.measure(model: audited, canaries: planted, candidates: candidates, workers: threads)
                let base = try CanaryExposure.measure(model: reference, canaries: planted, candidates: candidates, workers: threads)
                out.append(("exposure", .array(zip(mine, base).map { m, b in
                    .object([("repetitions", .int(m.repetitions)), ("exposure", .double(m.exposure)), ("anchorExposure", .double(b.exposure)),
                             ("sampledRank", .int(m.sampledRank)), ("anchorSampledRank", .int(b.sampledRank)), ("candidates", .int(m.candidates))])
                })))
                for (m, b) in zip(mine, base) {
                    rows.append(["exposure, canary x\(m.repetitions) (bits of \(String(format: "%.1f", log2(CanaryExposure.candidateSpace))))",
                                 String(format: "%.2f (rank %d of %d)", b.exposure, b.sampledRank, b.candidates),
                                 String(format: "%.2f (rank %d of %d)", m.exposure, m.sampledRank, m.candidates)])
                }
            }
            if extraction > 0, let inside {
                let mine = VerbatimExtraction.measure(model: audited, documents: inside, limit: extraction)
                let base = VerbatimExtraction.measure(model: reference, documents: inside, limit: extraction)
                out.append(("extraction", .object([("documents", .int(mine.documents)), ("rate", .double(mine.rate)), ("anchorRate", .double(base.rate)),
                                                   ("meanSimilarity", .double(mine.meanSimilarity)), ("anchorMeanSimilarity", .double(base.meanSimilarity))])))
                rows.append(["verbatim extraction (of \(mine.documents) members)", String(format: "%.1f%%", 100 * base.rate), String(format: "%.1f%%", 100 * mine.rate)])
            }
            if json { printJSON(.object(out)); return }
            printTable(rows)
        }
    }
}
