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
        Prepares corpora from Debian packages, pretrains the anchor (cached in WORKDIR/anchor), starts \
        `tributary serve` on loopback, enrols three organisations, trains each one's expert in its own \
        process, signs and submits it over HTTP, publishes the combined MoE, audits it, lets one \
        organisation opt out, publishes and audits again, and evaluates every model on held-out text. \
        Writes WORKDIR/report.md and WORKDIR/chart.svg (and chart.png with rsvg-convert).
        """)

    @Option(help: "Work directory (corpora and anchor are kept there between runs).") var workdir = ".demo"
    @Option(help: "Anchor model size: tiny, small, medium.") var anchorConfig = "small"
    @Option(help: "Anchor pretraining steps.") var anchorSteps = 1200
    @Option(help: "Expert training steps per organisation.") var expertSteps = 300
    @Option(help: "Documents per private domain.") var documents = 700
    @Option(help: "Bytes of public text for the anchor.") var publicBytes = 4_000_000
    @Option(help: "Held-out bytes evaluated per domain.") var evaluationBytes = 200_000
    @Option(help: "Differential-privacy epsilon of each routing signature.") var epsilon = 1.0
    @Option(help: "Worker threads per process.") var threads = 2
    @Flag(help: "Print the evaluation table as JSON at the end.") var json = false

    func validate() throws {
        guard anchorSteps > 0, expertSteps > 0, documents >= 50, publicBytes > 0, evaluationBytes > 0, threads > 0, epsilon > 0 else {
            throw ValidationError("steps, threads, sizes and epsilon must be positive; --documents at least 50")
        }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            var o = DemoOptions(binary: currentExecutable())
            o.workdir = workdir
            o.anchorConfig = anchorConfig
            o.anchorSteps = anchorSteps
            o.expertSteps = expertSteps
            o.evaluationBytes = evaluationBytes
            o.epsilon = epsilon
            o.threads = threads
            o.corpora = DemoCorpora(documentsPerDomain: documents, publicBytes: publicBytes)
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
