import Foundation
import TributaryCore
import TributaryModel
import TributaryRouting

/// What a tuned release logs of its router tuning (`ReleaseLayout.routerTuningFile`, protocol/SPEC.md
/// §11.12): every token id the tuning ran on and the rows it produced. With the manifest's recipe and
/// the untuned release (the anchor and the logged bundles), anyone replays the tuning; with the rows,
/// anyone rebuilds the release bit for bit without replaying it.
///
///     proxy_tokens  I32 [P]       the proxy documents' token ids, concatenated (unframed)
///     proxy_lengths I32 [D]       tokens of each proxy document
///     proxy_experts I32 [D]       the expert (1…) each document was sampled from
///     public_tokens I32 [Q]       the public token stream replayed (empty when the recipe replays none)
///     router_rows   F32 [E-1, S, H]   the tuned rows of the contributed experts over the S expert layers
///     metadata tributary.router_tuning: {"losses": [...]}   informative
public struct RouterTuningRecord: Sendable, Equatable {
    public var proxy: [[Int32]]
    /// The expert (1…) each proxy document came from.
    public var proxyExperts: [Int]
    public var publicTokens: [Int32]
    /// Per contributed expert, its rows [S * H] over the expert layers.
    public var rows: [[Float]]
    public var losses: [Double]

    public init(proxy: [[Int32]], proxyExperts: [Int], publicTokens: [Int32], rows: [[Float]], losses: [Double]) {
        self.proxy = proxy
        self.proxyExperts = proxyExperts
        self.publicTokens = publicTokens
        self.rows = rows
        self.losses = losses
    }

    static let metadataKey = "tributary.router_tuning"

    public func write(to path: String, hidden C: Int) throws {
        var w = SafetensorsWriter(metadata: [Self.metadataKey: JSONWriter.string(.object([("losses", .array(losses.map { .double($0.isFinite ? $0 : 0) }))]))])
        let flat = proxy.flatMap { $0 }
        w.add("proxy_tokens", shape: [flat.count], ints: flat)
        w.add("proxy_lengths", shape: [proxy.count], ints: proxy.map { Int32($0.count) })
        w.add("proxy_experts", shape: [proxy.count], ints: proxyExperts.map { Int32($0) })
        w.add("public_tokens", shape: [publicTokens.count], ints: publicTokens)
        let s = rows.first.map { $0.count / C } ?? 0
        w.add("router_rows", shape: [rows.count, s, C], values: rows.flatMap { $0 })
        try w.write(to: path)
    }

    /// Reads a record for a release of `experts` contributed experts over `layers` expert layers of
    /// hidden size `C` and a vocabulary of `vocab` tokens; anything else is refused.
    public static func read(_ path: String, experts: Int, layers: Int, hidden C: Int, vocab: Int) throws -> RouterTuningRecord {
        func fail(_ why: String) -> TributaryError { TributaryError("release.router_tuning", "\(path): \(why)") }
        let f = try SafetensorsFile(path: path)
        let tokens = try f.int32s("proxy_tokens"), lengths = try f.int32s("proxy_lengths"), owners = try f.int32s("proxy_experts")
        let pub = try f.int32s("public_tokens")
        guard lengths.count == owners.count, lengths.allSatisfy({ $0 >= 0 }), lengths.reduce(0, { $0 + Int($1) }) == tokens.count else {
            throw fail("the proxy lengths do not add up to its \(tokens.count) tokens")
        }
        guard (tokens + pub).allSatisfy({ (0..<Int32(vocab)).contains($0) }) else { throw fail("a token id outside the vocabulary of \(vocab)") }
        guard owners.allSatisfy({ (1...Int32(max(experts, 1))).contains($0) }) else { throw fail("a proxy document of an expert the release does not have") }
        let info = try f.info("router_rows")
        guard info.shape == [experts, layers, C] else { throw fail("router_rows has shape \(info.shape), the release needs [\(experts), \(layers), \(C)]") }
        let all = try f.floats(info)
        guard all.allSatisfy(\.isFinite) else { throw fail("router_rows holds a value that is not finite") }
        var proxy = [[Int32]](), at = 0
        for n in lengths { proxy.append(Array(tokens[at..<at + Int(n)])); at += Int(n) }
        let losses = (try? StrictJSONParser.parse(Array((f.metadata[metadataKey] ?? "{}").utf8)))?["losses"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        return RouterTuningRecord(proxy: proxy, proxyExperts: owners.map { Int($0) }, publicTokens: pub,
                                  rows: (0..<experts).map { Array(all[$0 * layers * C..<($0 + 1) * layers * C]) }, losses: losses)
    }

    /// Sets experts 1… router rows of `model` (a release's combined model) to the record's.
    public func apply(to model: Model) {
        let C = model.config.hiddenSize
        for (i, l) in model.config.moeLayers.enumerated() {
            let router = model.pointer(model.layout.layers[l].router)
            for (e, r) in rows.enumerated() {
                r.withUnsafeBufferPointer { (router + (e + 1) * C).update(from: $0.baseAddress! + i * C, count: C) }
            }
        }
    }
}

/// Router tuning as a release does it: proxy samples from each contributed expert (seeded by its
/// contribution's log index), then `RouterTuning.tune` on them and the public stream.
public enum ReleaseRouterTuning {
    /// Tunes `model` (the combined release, untuned) in place of a copy; returns the tuned model and the
    /// record. `signatures` (the release's routing index and the anchor) choose the samples when the
    /// recipe draws candidates (`ProxySelection`).
    public static func tune(_ model: Model, recipe: RouterTuningRecipe, keys: [UInt64], publicTokens: [Int32],
                            signatures: (index: RoutingIndex, anchor: Model)?,
                            progress: ProgressReporter?) throws -> (model: Model, record: RouterTuningRecord) {
        let experts = model.config.numExperts - 1
        precondition(keys.count == experts, "one key per contributed expert")
        guard recipe.candidatesPerExpert == 0 || signatures.map({ $0.index.experts.count == experts + 1 }) == true else {
            throw TributaryError("train.invalid_options", "router tuning chooses its samples by the signatures here, but the release's routing index does not hold one entry per expert")
        }
        var proxy = [[Int32]](), owners = [Int]()
        for e in 1...experts {
            var samples = try RouterTuning.proxySamples(model: model, expert: e, key: keys[e - 1], recipe: recipe)
            if recipe.candidatesPerExpert > 0, let (index, anchor) = signatures {
                let kept = ProxySelection.choose(samples, expert: e, keep: recipe.samplesPerExpert, index: index, anchor: anchor)
                progress?.log("router tuning: kept samples \(kept.map(String.init).joined(separator: ",")) of \(samples.count) of expert \(e), nearest its signature")
                samples = kept.map { samples[$0] }
            }
            proxy += samples
            owners += Array(repeating: e, count: samples.count)
            progress?.log("router tuning: \(samples.count) proxy samples of expert \(e) (\(samples.reduce(0) { $0 + $1.count }) tokens)")
        }
        let pub = recipe.publicEvery > 0 ? publicTokens : []
        let (tuned, result) = try RouterTuning.tune(model: model, proxy: proxy, proxyExperts: owners, publicTokens: pub.isEmpty ? nil : pub, recipe: recipe, progress: progress)
        let rows = Array(ExpertAssembly.routerRows(of: tuned).dropFirst())
        return (tuned, RouterTuningRecord(proxy: proxy, proxyExperts: owners, publicTokens: pub, rows: rows, losses: result.losses))
    }

    /// The tuning replayed from a record: the same recipe on the record's token ids, from the untuned
    /// `model`. Its rows match the record's within `RouterTuningReplay.tolerance` on any CPU.
    public static func replay(_ model: Model, recipe: RouterTuningRecipe, record: RouterTuningRecord) throws -> [[Float]] {
        let (tuned, _) = try RouterTuning.tune(model: model, proxy: record.proxy, proxyExperts: record.proxyExperts, publicTokens: record.publicTokens.isEmpty ? nil : record.publicTokens,
                                               recipe: recipe, progress: nil)
        return Array(ExpertAssembly.routerRows(of: tuned).dropFirst())
    }

    /// An auditor's replay from public material: the untuned release of `experts` (manifest order)
    /// rebuilt from the anchor directory and the bundle files, then `recipe` on the record at `record`.
    public static func replay(anchor: String, experts: [ReleaseFiles.Source], topK: Int, recipe: RouterTuningRecipe, record: String) throws -> [[Float]] {
        let (model, _) = try ReleaseFiles.untuned(anchor: try AnchorDirectory.load(anchor), contributions: experts, topK: topK)
        let c = model.config
        let r = try RouterTuningRecord.read(record, experts: experts.count, layers: c.moeLayers.count, hidden: c.hiddenSize, vocab: c.vocabSize)
        return try replay(model, recipe: recipe, record: r)
    }
}
