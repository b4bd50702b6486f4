import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryDemo
import TributaryDevTools
import TributaryModel
import TributaryRouting
import TributaryHarness

/// `tributary-dev bench-signature`: how well DP routing signatures route on the real anchor, for each
/// way of measuring documents, over eleven domains (SignatureStudy). Writes the split to
/// WORKDIR/study-split.json for the non-private baseline (benchmarks/signature_baseline.py).
struct BenchSignatureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-signature",
        abstract: "Routing accuracy of DP signatures against layer, projection, ε and documents per owner (eleven domains).")

    @Option(help: "Anchor directory.") var anchor: String
    @Option(help: "Work directory (corpora, the embedding cache, the split).") var workdir = ".bench/signature"
    @Option(help: "Documents per domain.") var documents = 360
    @Option(help: "Bytes per document.") var bytes = 3000
    @Option(help: "Layers to try (comma-separated; the anchor's layer count means its final state).") var layers = "4,8,12,16,20,24,28,30"
    @Option(help: "Projected dimensions to try (0: none).") var dimensions = "8,16,32"
    @Option(help: "Noise draws averaged per setting.") var seeds = 5
    @Flag(help: "Public text is prose only (the demo's), not prose, code and configuration.") var proseOnly = false
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            try StudyCorpora.prepare(workdir: workdir, documents: documents, bytes: bytes, log: log)
            let a = try AnchorDirectory.load(anchor)
            let cache = workdir + "/study-cache"
            func means(_ dir: String) throws -> (Corpus, LayerMeans) {
                let corpus = try Corpus.load(paths: [dir])
                log("embedding \(dir): \(corpus.documents.count) documents")
                return (corpus, try LayerMeans.load(model: a.model, anchor: a.digest, corpus: corpus, cache: cache, log: log))
            }
            var publicDirs = [DemoCorpora.directory(workdir, DemoCorpora.publicDomain)]
            if !proseOnly { publicDirs += StudyCorpora.publicCode.map { StudyCorpora.directory(workdir, $0.name) } }
            var publicCorpora = [Corpus](), publicMeans = [LayerMeans]()
            for d in publicDirs {
                let (c, m) = try means(d)
                publicCorpora.append(c)
                publicMeans.append(m)
            }
            let pub = LayerMeans.concatenate(publicMeans)
            let pubCorpus = Corpus(documents: publicCorpora.flatMap(\.documents))
            var owners = [(name: String, means: LayerMeans, split: SignatureStudy.Split)]()
            var splitJSON = [(String, JSONValue)]()
            for d in StudyCorpora.owners {
                let (c, m) = try means(StudyCorpora.directory(workdir, d.name))
                let split = SignatureStudy.split(c, fraction: 0.25)
                owners.append((d.name, m, split))
                splitJSON.append((d.name, .object([("pool", .array(split.pool.map { .string(m.sources[$0]) })),
                                                   ("heldOut", .array(split.heldOut.map { .string(m.sources[$0]) }))])))
            }
            let pubSplit = SignatureStudy.split(pubCorpus, fraction: 0.25)
            splitJSON.append(("public", .object([("pool", .array(pubSplit.pool.map { .string(pub.sources[$0]) })),
                                                 ("heldOut", .array(pubSplit.heldOut.map { .string(pub.sources[$0]) }))])))
            try AtomicFileWriter.write(Array(JSONWriter.string(.object(splitJSON)).utf8), to: workdir + "/study-split.json")
            var study = SignatureStudy(publicMeans: pub, publicSplit: pubSplit, owners: owners)
            study.seeds = seeds
            let L = a.model.config.numLayers
            let layerList = layers.split(separator: ",").compactMap { Int($0) }.map { min($0, L) }
            let dims = dimensions.split(separator: ",").compactMap { Int($0) }
            var spaces = [SignatureStudy.Space(layer: L, dimension: 0, drop: 0, whiten: false)]
            for l in layerList { for d in dims where d > 0 { for drop in [0, 2] { for w in [false, true] {
                spaces.append(.init(layer: l, dimension: d, drop: drop, whiten: w))
            } } } }
            let outcome = try study.run(spaces: spaces, epsilons: [0.25, 0.5, 1, 4, nil], documents: [16, 64, 256], log: log)
            let (screen, grid) = (outcome.screen, outcome.grid)
            func row(_ r: SignatureStudy.Result) -> JSONValue {
                .object([("space", .string(r.space.description)), ("release", .string(r.release.description)),
                         ("epsilon", r.epsilon.map { .double($0) } ?? .null), ("documents", .int(r.documents)),
                         ("meanOwner", .double(r.meanOwner)), ("minOwner", .double(r.minOwner)), ("publicToAnchor", .double(r.publicToAnchor)),
                         ("owners", .object(r.owners.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) }))])
            }
            if json {
                printJSON(.object([("screen", .array(screen.map(row))), ("grid", .array(grid.map(row))),
                                   ("releases", .array(outcome.releases.map(row))),
                                   ("publicDocuments", .array(outcome.publicDocuments.map { .object([("count", .int($0.count)), ("result", row($0.result))]) }))]))
                return
            }
            print("screen (ε = 1, 64 documents per owner, \(owners.count) owners):")
            for r in screen.sorted(by: { $0.minOwner + $0.publicToAnchor > $1.minOwner + $1.publicToAnchor }) {
                print(String(format: "  %-40@ owners %5.1f%% (worst %5.1f%%)  public→anchor %5.1f%%", r.space.description as NSString,
                             100 * r.meanOwner, 100 * r.minOwner, 100 * r.publicToAnchor))
            }
            if let best = grid.first?.space { print("best: \(best)") }
            for r in grid {
                print(String(format: "  ε %@  %3d documents: owners %5.1f%% (worst %5.1f%%)  public→anchor %5.1f%%",
                             (r.epsilon.map { String(format: "%4.2f", $0) } ?? "  ∞ ") as NSString, r.documents, 100 * r.meanOwner, 100 * r.minOwner, 100 * r.publicToAnchor))
            }
            print("releases at ε = 1:")
            for r in outcome.releases {
                print(String(format: "  %-42@ %3d documents: owners %5.1f%% (worst %5.1f%%)  public→anchor %5.1f%%", r.release.description as NSString,
                             r.documents, 100 * r.meanOwner, 100 * r.minOwner, 100 * r.publicToAnchor))
            }
            print("the space fitted on fewer public documents (ε = 1, 64 documents per owner):")
            for (m, r) in outcome.publicDocuments {
                print(String(format: "  %4d public documents: owners %5.1f%% (worst %5.1f%%)  public→anchor %5.1f%%", m, 100 * r.meanOwner, 100 * r.minOwner, 100 * r.publicToAnchor))
            }
            print("per owner at ε = 1, 64 documents: " + (grid.first { $0.epsilon == 1 && $0.documents == 64 }?.owners.sorted { $0.key < $1.key }
                .map { String(format: "%@ %.0f%%", $0.key as NSString, 100 * $0.value) }.joined(separator: ", ") ?? ""))
        }
    }
}
