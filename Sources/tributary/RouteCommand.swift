import ArgumentParser
import TributaryClient
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Which experts serve a text: nearest-centroid routing (c-BTM) in the anchor's signature space.",
        discussion: """
        Locally over a model directory's routing index (--model: a release, or `train`'s OUT/model), or \
        through a server's /v1/route (--server). Texts: --text, or --files (files or directories, one \
        document per file). With several texts it also counts how many went to each expert first.
        """)

    @Option(help: "Model directory with routing-index.safetensors (a release, or `train`'s OUT/model).") var model: String?
    @Option(help: "A server: route through its /v1/route (its current release).") var server: String?
    @Option(help: "The text to route.") var text: String?
    @Option(parsing: .upToNextOption, help: "Files or directories whose files are texts to route.") var files: [String] = []
    @Option(help: "Experts to keep.") var topK = 2
    @Option(help: "Texts per /v1/route request (--server); a server embeds at most --max-route-tokens per request (8,192 by default: 32 texts of SmolLM2's 256 tokens, 4 of the byte model's 2,048).")
    var perRequest = 24
    @Option(help: "Softmax temperature over -distance² (local routing).") var temperature = 0.1
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard perRequest >= 1, topK >= 1 else { throw ValidationError("--per-request and --top-k must be at least 1") }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            guard (model == nil) != (server == nil) else { throw TributaryError("client.bad_source", "give exactly one of --model DIR and --server URL") }
            guard (text == nil) != files.isEmpty else { throw TributaryError("client.bad_source", "give exactly one of --text and --files") }
            let corpus = try text.map { Corpus(documents: [Corpus.Document(source: "text", bytes: Array($0.utf8))]) } ?? Corpus.load(paths: files)
            guard !corpus.documents.isEmpty else { throw TributaryError("corpus.empty", "no texts to route in \(files.joined(separator: " "))") }
            let routes: [[(expert: Int, name: String, weight: Double)]]
            var release: Int?
            if let server {
                let client = try TributaryClient(server: server)
                let r = try await client.route(texts: corpus.documents.map { String(decoding: $0.bytes, as: UTF8.self) }, topK: topK, perRequest: perRequest)
                release = r.release
                routes = r.results.map { $0.map { ($0.expert, $0.organisation, $0.weight) } }
            } else {
                let m = try ModelDirectory.load(model!)
                let index = try RoutingIndex.read(model! + "/" + RoutingIndex.fileName, layers: m.config.numLayers, hidden: m.config.hiddenSize)
                let q = index.space.embed(model: ExpertAssembly.anchor(of: m), corpus: corpus)
                routes = CentroidRouter(index: index, temperature: temperature, topK: topK).route(q, count: corpus.documents.count)
                    .map { $0.map { ($0.expert, index.experts[$0.expert].name, $0.weight) } }
            }
            var firsts = [String: Int]()
            for r in routes { firsts[r.first?.name ?? "(none)", default: 0] += 1 }
            if json {
                printJSON(.object([
                    ("release", release.map { .int($0) } ?? .null),
                    ("results", .array(zip(corpus.documents, routes).map { doc, r in
                        .object([("source", .string(doc.source)), ("experts", .array(r.map {
                            .object([("expert", .int($0.expert)), ("name", .string($0.name)), ("weight", .double($0.weight))])
                        }))])
                    })),
                    ("first", .object(firsts.keys.sorted().map { ($0, .int(firsts[$0]!)) })),
                ]))
                return
            }
            for (doc, r) in zip(corpus.documents, routes) {
                let experts = r.map { String(format: "%@ (expert %d, weight %.3f)", $0.name as NSString, $0.expert, $0.weight) }.joined(separator: ", ")
                print(corpus.documents.count == 1 ? experts : "\(doc.source): \(experts)")
            }
            if corpus.documents.count > 1 {
                print("first choice: " + firsts.keys.sorted().map { "\($0) \(firsts[$0]!)/\(corpus.documents.count)" }.joined(separator: ", "))
            }
        }
    }
}
