import Foundation
import TributaryCore
import TributaryModel

/// Every document's mean hidden state at every layer of the anchor (the input of each feed-forward
/// block, and the final normalised state as layer L), over its first tokens: what any signature the
/// study tries is computed from. A forward pass of SmolLM2 costs ~0.6 s a document on 2 cores, so each
/// corpus's means are kept in `WORKDIR/study-cache` (keyed by the anchor and the corpus) and the
/// benchmark re-runs in minutes.
public struct LayerMeans: Sendable {
    public let documents: Int
    public let layers: Int      // L + 1
    public let hidden: Int
    /// [documents, layers, hidden].
    public let values: [Float]
    /// Each document's source path, in order.
    public let sources: [String]

    /// Several corpora's means, one after the other.
    public static func concatenate(_ parts: [LayerMeans]) -> LayerMeans {
        guard let first = parts.first else { return LayerMeans(documents: 0, layers: 0, hidden: 0, values: [], sources: []) }
        return LayerMeans(documents: parts.reduce(0) { $0 + $1.documents }, layers: first.layers, hidden: first.hidden,
                          values: parts.flatMap(\.values), sources: parts.flatMap(\.sources))
    }

    public func row(_ doc: Int, layer: Int) -> ArraySlice<Float> {
        let start = (doc * layers + layer) * hidden
        return values[start..<start + hidden]
    }

    /// Computes (or reads from `cache`) the means of `corpus` under `model`, whose identity is `anchor`.
    public static func load(model: Model, anchor: String, corpus: Corpus, cache: String, log: (String) -> Void) throws -> LayerMeans {
        let key = Hex.encode(Array(SHA256.digest(Array((anchor + corpus.fingerprint).utf8)).prefix(12)))
        let path = cache + "/" + key + ".safetensors"
        let L = model.config.numLayers, C = model.config.hiddenSize, n = corpus.documents.count
        if FileManager.default.fileExists(atPath: path) {
            let f = try SafetensorsFile(path: path)
            let v = try f.floats("layer_means")
            if v.count == n * (L + 1) * C {
                return LayerMeans(documents: n, layers: L + 1, hidden: C, values: v, sources: corpus.documents.map(\.source))
            }
        }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let t0 = Date()
        var values = [Float]()
        values.reserveCapacity(n * (L + 1) * C)
        for start in stride(from: 0, to: n, by: 32) {
            let batch = Corpus(documents: Array(corpus.documents[start..<min(n, start + 32)]))
            for s in Evaluator.documentStatistics(model: model, corpus: batch, workers: 2) {
                values += s.layerMeans
                values += s.rawEmbedding
            }
            log(String(format: "  embedded %d of %d documents (%.0f s)", min(n, start + 32), n, Date().timeIntervalSince(t0)))
        }
        var w = SafetensorsWriter(metadata: ["anchor": anchor, "corpus": corpus.fingerprint])
        w.add("layer_means", shape: [n, L + 1, C], values: values)
        try w.write(to: path)
        return LayerMeans(documents: n, layers: L + 1, hidden: C, values: values, sources: corpus.documents.map(\.source))
    }
}
