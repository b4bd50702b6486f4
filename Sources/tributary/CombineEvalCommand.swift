import ArgumentParser
import Foundation
import TributaryCore
import TributaryDemo
import TributaryModel
import TributaryRouting

/// Merges trained experts in-process exactly as a release does and prints the evaluation table:
/// for trying merge settings without a server.
struct CombineEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combine-eval",
        abstract: "Merge experts as a release would and evaluate every variant on held-out text.")

    @Option(help: "Anchor directory.") var anchor: String
    @Option(parsing: .upToNextOption, help: "NAME:DOMAIN:DIR, DIR being a `tributary train --out` directory.") var org: [String]
    @Option(help: "Directory with one sub-directory of text per domain (public first in the table).") var corpora: String
    @Option(help: "Experts per token in the merged model.") var topK = 2
    @Option(help: "Held-out fraction (as `train --held-out`).") var heldOut = 0.1
    @Option(help: "Evaluate at most this many held-out bytes per domain.") var maxHeldOutBytes = 200_000
    @Option(help: "Also evaluate the merge without this organisation.") var optOut: String?
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            var orgs = [EvaluationInputs.Organisation](), contributions = [CombinedModel.Contribution]()
            for spec in org {
                let parts = spec.split(separator: ":", maxSplits: 2).map(String.init)
                guard parts.count == 3 else { throw ValidationError("--org takes NAME:DOMAIN:DIR, got \(spec)") }
                orgs.append(.init(name: parts[0], domain: parts[1], model: try ModelDirectory.load(parts[2] + "/model")))
                contributions.append(try .init(name: parts[0], expertFile: parts[2] + "/bundle/" + BundleLayout.expertFile,
                                               routingFile: parts[2] + "/bundle/" + BundleLayout.routingFile, config: a.model.config))
            }
            let (combined, index) = try CombinedModel.assemble(anchor: a, contributions: contributions, topK: topK)
            var after: (String, Model)?
            if let optOut {
                after = (optOut, try CombinedModel.assemble(anchor: a, contributions: contributions.filter { $0.name != optOut }, topK: topK).model)
            }
            let domains = [DemoCorpora.publicDomain] + orgs.map(\.domain)
            let held = try domains.map { ($0, try DemoHeldOut.load(corpora + "/" + $0, fraction: heldOut, maxBytes: maxHeldOutBytes)) }
            let table = try DemoEvaluation.run(EvaluationInputs(anchor: a.model, organisations: orgs, combined: combined, index: index,
                                                                releaseOrder: orgs.map(\.name), afterOptOut: after, heldOut: held)) { printError($0) }
            if json { printJSON(table.json) } else { print(table.text) }
        }
    }
}
