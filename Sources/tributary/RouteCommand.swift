import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Which experts serve a text: nearest-centroid routing (c-BTM) over a model's routing index.")

    @Option(help: "Model directory with routing-index.safetensors (a release, or `train`'s OUT/model).") var model: String
    @Option(help: "The text to route.") var text: String
    @Option(help: "Experts to keep.") var topK = 2
    @Option(help: "Softmax temperature over -distance².") var temperature = 0.1
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            let index = try RoutingIndex.read(model + "/" + RoutingIndex.fileName, layers: m.config.numLayers, hidden: m.config.hiddenSize)
            let anchor = ExpertAssembly.anchor(of: m)
            let doc = Corpus(documents: [Corpus.Document(source: "query", bytes: Array(text.utf8))])
            let q = index.space.embed(model: anchor, corpus: doc, workers: 1)
            let routes = CentroidRouter(index: index, temperature: temperature, topK: topK).route(q, count: 1)[0]
            if json {
                printJSON(.object([("experts", .array(routes.map {
                    .object([("expert", .int($0.expert)), ("name", .string(index.experts[$0.expert].name)),
                             ("weight", .double($0.weight)), ("distance", .double($0.distance))])
                }))]))
            } else {
                for r in routes {
                    print(String(format: "expert %d  %@  weight %.3f  (distance² %.4f)", r.expert, index.experts[r.expert].name, r.weight, r.distance))
                }
            }
        }
    }
}
