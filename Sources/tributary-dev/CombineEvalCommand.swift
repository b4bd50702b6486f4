import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryContribution
import TributaryDemo
import TributaryModel
import TributaryRouting
import TributaryHarness

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
    @Option(help: "Read only the first this many bytes of each held-out document (the SmolLM2 demo: 1000).") var heldOutDocumentBytes = Int.max
    @Option(help: "Also evaluate the merge without this organisation.") var optOut: String?
    @Option(parsing: .upToNextOption, help: "Experiment: signature routing allowing this many contributed experts per token.") var routeExperts: [Int] = []
    @OptionGroup(title: "Experiment: tune the merged model's router rows as a server with this recipe would (serve's options)")
    var tuning: RouterTuningArguments
    @Option(help: "Router tuning: sample the proxy text from expert-alone or owner-model.") var tuningProxy = "expert-alone"
    @Flag(help: "Print only the experiments, not the table.") var onlyExperiments = false
    @Flag var json = false
    @Flag(help: "Also print the combined model's mean gate per expert on each domain's held-out text.") var gates = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            var orgs = [EvaluationInputs.Organisation](), contributions = [CombinedModel.Contribution]()
            for spec in org {
                let parts = spec.split(separator: ":", maxSplits: 2).map(String.init)
                guard parts.count == 3 else { throw ValidationError("--org takes NAME:DOMAIN:DIR, got \(spec)") }
                orgs.append(.init(name: parts[0], domain: parts[1], model: try ModelDirectory.load(parts[2] + "/model")))
                contributions.append(try CombinedModel.Contribution(name: parts[0], expertFile: parts[2] + "/bundle/" + BundleLayout.expertFile,
                                                                    routingFile: parts[2] + "/bundle/" + BundleLayout.routingFile, anchor: a.model))
            }
            var (combined, index) = try CombinedModel.assemble(anchor: a, contributions: contributions, topK: topK)
            var after: (String, Model, RoutingIndex)?
            if let optOut {
                let (model, afterIndex) = try CombinedModel.assemble(anchor: a, contributions: contributions.filter { $0.name != optOut }, topK: topK)
                after = (optOut, model, afterIndex)
            }
            if let recipe = try tuning.recipe() {
                let publicText = try Corpus.load(paths: [corpora + "/" + DemoCorpora.publicDomain]).split(heldOutFraction: heldOut).train
                let names = ["anchor"] + orgs.map(\.name)
                combined = try tuneRouter(combined, index: index, anchor: a.model, names: names, recipe: recipe, publicText: publicText)
                if let (name, model, afterIndex) = after {
                    // The opt-out release is tuned anew without the withdrawn expert's samples, as a server tunes it.
                    after = (name, try tuneRouter(model, index: afterIndex, anchor: a.model, names: names.filter { $0 != name }, recipe: recipe,
                                                  publicText: publicText), afterIndex)
                }
            }
            let domains = [DemoCorpora.publicDomain] + orgs.map(\.domain)
            let held = try domains.map { ($0, try DemoHeldOut.load(corpora + "/" + $0, fraction: heldOut, maxBytes: maxHeldOutBytes, documentBytes: heldOutDocumentBytes)) }
            if gates {
                let names = ["anchor"] + orgs.map(\.name)
                let C = a.model.config.hiddenSize
                for (e, rows) in ExpertAssembly.routerRows(of: combined).enumerated() {
                    let norms = (0..<rows.count / C).map { l in rows[l * C..<(l + 1) * C].reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() }
                    printError("router row norms of \(names[e]): " + norms.map { String(format: "%.2f", $0) }.joined(separator: " "))
                }
                for (domain, corpus) in held {
                    let g = GateStatistics.meanGates(model: combined, corpus: corpus)
                    let mean = names.indices.map { e in g.reduce(0) { $0 + $1[e] } / Double(g.count) }
                    printError("gates on \(domain): " + zip(names, mean).map { "\($0) " + String(format: "%.2f", $1) }.joined(separator: ", ")
                               + "   per layer: " + g.map { $0.map { String(format: "%.2f", $0) }.joined(separator: "/") }.joined(separator: " "))
                }
                let routing = SignatureRouting(index: index)
                for (domain, corpus) in held {
                    let masks = routing.expertSets(anchor: a.model, corpus: corpus).flatMap { $0 }
                    let shares = names.indices.dropFirst().map { e in Double(masks.filter { $0.contains(e) }.count) / Double(max(masks.count, 1)) }
                    let alone = Double(masks.filter { $0 == ExpertSet([0]) }.count) / Double(max(masks.count, 1))
                    printError("signature routing on \(domain): anchor alone " + String(format: "%.2f", alone) + ", "
                               + zip(names.dropFirst(), shares).map { "\($0) " + String(format: "%.2f", $1) }.joined(separator: ", "))
                }
            }
            if !routeExperts.isEmpty {
                let top2 = try ExpertAssembly.withTopK(combined, 2)
                for r in routeExperts {
                    let routing = SignatureRouting(index: index, experts: r)
                    let v = held.map { Evaluator.tokenScores(model: top2, corpus: $0.1, expertSets: routing.expertSets(anchor: a.model, corpus: $0.1)).bitsPerByte() }
                    printError("signature-routed top-2, \(r) experts: " + zip(held, v).map { "\($0.0.0) " + String(format: "%.3f", $0.1) }.joined(separator: ", "))
                }
            }
            if onlyExperiments { return }
            let table = try DemoEvaluation.run(EvaluationInputs(anchor: a.model, organisations: orgs, combined: combined, index: index,
                                                                releaseOrder: orgs.map(\.name), afterOptOut: after.map { ($0.0, $0.1) }, heldOut: held)) { printError($0) }
            if json { printJSON(table.json) } else { print(table.text) }
        }
    }
}

extension CombineEvalCommand {
    /// Tunes as a release does (`ReleaseRouterTuning`), the experts' samples keyed by their position.
    @inline(never) func tuneRouter(_ model: Model, index: RoutingIndex, anchor: Model, names: [String], recipe: RouterTuningRecipe,
                                   publicText: Corpus) throws -> Model {
        var recipe = recipe
        guard let source = RouterTuningRecipe.ProxySource(rawValue: tuningProxy) else { throw ValidationError("--tuning-proxy takes expert-alone or owner-model") }
        recipe.proxySource = source
        let t0 = ProgressReporter.now()
        let progress = ProgressReporter(label: "router tuning")
        let (tuned, record) = try ReleaseRouterTuning.tune(model, recipe: recipe, keys: (1..<model.config.numExperts).map { UInt64($0) },
                                                           publicTokens: RouterTuning.publicStream(publicText, tokenizer: model.tokenizer, count: recipe.publicTokens),
                                                           signatures: (index, anchor), progress: progress)
        for e in 1..<model.config.numExperts {
            let first = zip(record.proxy, record.proxyExperts).first { $0.1 == e }?.0 ?? []
            let text = String(decoding: model.tokenizer.decode(first.prefix(40)), as: UTF8.self).replacingOccurrences(of: "\n", with: "⏎")
            printError("router tuning: \(names[e])'s first proxy sample: \(text)")
        }
        printError(String(format: "router tuning: %.1f s in all, loss %.3f → %.3f", ProgressReporter.now() - t0, record.losses.first ?? 0, record.losses.last ?? 0))
        return tuned
    }
}
