import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel
import TributaryRouting
import TributaryServer

/// What an operator needs to choose the routing bounds of the policy (`maxRouterRowRatio`,
/// `maxCentroidNorm`, `maxProbeGateShare`): the figures honest bundles produce.
struct RoutingBoundsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing-bounds",
        abstract: "A bundle's router-row norms against the anchor's, its centroid norms and its gate share on the probe text.")

    @Option(help: "Anchor directory.") var anchor: String
    @Option(help: "Public probe text (files or directories).") var probe: [String]
    @Option(help: "Bytes of probe text read.") var probeBytes = 8192
    @Argument(help: "Bundle directories.") var bundles: [String]
    @Flag var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            var options = Corpus.LoadOptions()
            options.maxTotalBytes = probeBytes
            let probe = ExpertProbe(anchor: a, probe: try Corpus.load(paths: self.probe, options: options), tolerance: 0.05, workers: 2)
            let C = a.model.config.hiddenSize
            var out = [JSONValue]()
            for dir in bundles {
                let expert = try ExpertWeights(file: try SafetensorsFile(path: dir + "/" + BundleLayout.expertFile), anchor: a.model)
                let signature = try RoutingSignature.read(dir + "/" + BundleLayout.routingFile)
                func norm(_ v: ArraySlice<Float>) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                let ratios = expert.layers.map { l in norm(signature.routerRows[l * C..<(l + 1) * C]) / norm(a.routerRows[l * C..<(l + 1) * C]) }
                let centroids = (0..<signature.k).map { norm(signature.centroids[$0 * C..<($0 + 1) * C]) }
                let shares = try probe.gateShares(anchor: a, expert: expert, routerRows: signature.routerRows)
                if !json {
                    print(dir)
                    print(String(format: "  router row / anchor row, per expert layer: max %.3f (min %.3f)", ratios.max() ?? 0, ratios.min() ?? 0))
                    print("  centroid norms: " + centroids.map { String(format: "%.3f", $0) }.joined(separator: ", "))
                    print(String(format: "  gate share on the probe, per expert layer: max %.3f (mean %.3f)", shares.max() ?? 0,
                                 shares.reduce(0, +) / Double(max(shares.count, 1))))
                }
                out.append(.object([("bundle", .string(dir)), ("maxRowRatio", .double(ratios.max() ?? 0)),
                                    ("centroidNorms", .array(centroids.map { .double($0) })), ("maxGateShare", .double(shares.max() ?? 0))]))
            }
            if json { printJSON(.array(out)) }
        }
    }
}
