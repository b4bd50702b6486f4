import TributaryCore
import TributaryModel
import TributaryRouting

/// Router tuning's proxy samples chosen by the signatures (`RouterTuningRecipe.candidatesPerExpert`):
/// an expert alone in the anchor, prompted with nothing, writes its domain in some samples and
/// generic text in others, and generic samples teach every expert's rows the same thing. Each
/// candidate is embedded in the anchor's signature space as `/v1/route` embeds a query, and the
/// samples kept are those nearest their own expert's published centroids relative to every other
/// expert's (the anchor's public centroids included). Only public material is read: the samples and
/// the signatures. The release logs the samples kept, so audits replay the tuning without this step.
public enum ProxySelection {
    /// Indices (ascending) of the `keep` samples of expert `e` (index order in `index`, 0 the anchor)
    /// with the smallest margin d(own centroids) − d(nearest other expert's centroids), squared
    /// distances to the nearest centroid; ties go to the earlier sample. An expert without centroids
    /// keeps its first `keep` samples.
    public static func choose(_ samples: [[Int32]], expert e: Int, keep: Int, index: RoutingIndex, anchor: Model) -> [Int] {
        guard keep < samples.count else { return Array(samples.indices) }
        let texts = samples.map { String(decoding: anchor.tokenizer.decode($0), as: UTF8.self) }
        let d = index.dimension
        let points = index.space.embed(model: anchor, texts: texts)
        let margins = samples.indices.map { i in
            let u = points[i * d..<(i + 1) * d]
            var own = Double.infinity, other = Double.infinity
            for (j, ex) in index.experts.enumerated() {
                let nearest = nearestDistance(u, ex.centroids, d)
                if j == e { own = nearest } else { other = min(other, nearest) }
            }
            return own.isFinite ? own - other : .infinity
        }
        return Array(samples.indices.sorted { (margins[$0], $0) < (margins[$1], $1) }.prefix(keep)).sorted()
    }

    static func nearestDistance(_ u: ArraySlice<Float>, _ centroids: [Float], _ d: Int) -> Double {
        var best = Double.infinity
        for c in 0..<centroids.count / d {
            var s = 0.0
            for (k, v) in u.enumerated() { let x = Double(v) - Double(centroids[c * d + k]); s += x * x }
            best = min(best, s)
        }
        return best
    }
}
