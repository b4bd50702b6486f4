import Foundation
import TributaryCore
import TributaryModel

/// Where routing signatures live: a low-dimensional space fitted on the anchor's **public** text only
/// (so it costs no privacy), part of the anchor (protocol/SPEC.md §6.1). A document's point is its
/// mean state at one layer of the anchor (that layer's feed-forward input over its first tokens),
/// minus the public mean, projected on public principal directions, L2-normalised.
///
/// Why: DP noise on a mean of n unit vectors in d dimensions has norm ≈ σ·√d / n; in the anchor's
/// 576 dimensions it swamped every signal at ε = 1 (norm 1.8 for n = 65), in 16 it is about 0.3.
/// Middle layers separate topics better than the last, whose states are nearly parallel in small
/// decoders (Ethayarajh 2019; Skean et al. 2025); dropping the top public directions and whitening
/// the rest are the usual fixes for that anisotropy (Mu & Viswanath 2018).
///
/// Anchors made before signature spaces have none: their space is the whole final normalised state
/// centred on `embedding_center` (`projection` nil), what v2 statements' centroids are in.
public struct SignatureSpace: Sendable, Equatable {
    /// The anchor layer whose feed-forward input is averaged (0..<L), or L: the final normalised state.
    public let layer: Int
    /// [C]: the public documents' mean of that quantity.
    public let center: [Float]
    /// [d, C], row-major: the projection (principal directions, scaled by 1/√eigenvalue when whitened);
    /// nil: none (anchors before signature spaces).
    public let projection: [Float]?
    public let dimension: Int

    public var hidden: Int { center.count }

    public init(layer: Int, center: [Float], projection: [Float]?) {
        precondition(!center.isEmpty && (projection.map { !$0.isEmpty && $0.count % center.count == 0 } ?? true))
        self.layer = layer
        self.center = center
        self.projection = projection
        dimension = projection.map { $0.count / center.count } ?? center.count
    }

    /// What a statement records of the space (nil for the legacy space: a v2 statement).
    public var parameters: SignatureSpaceParameters? {
        projection == nil ? nil : SignatureSpaceParameters(layer: layer, dimension: dimension)
    }

    /// A document's point: normalise(P · (x − center)), x its mean state at `layer` [C].
    public func point(_ x: ArraySlice<Float>) -> [Float] {
        let C = hidden
        precondition(x.count == C)
        var centred = [Double](repeating: 0, count: C)
        for (i, v) in x.enumerated() { centred[i] = Double(v) - Double(center[i]) }
        var out = [Double](repeating: 0, count: dimension)
        if let projection {
            for r in 0..<dimension {
                var s = 0.0
                for c in 0..<C { s += Double(projection[r * C + c]) * centred[c] }
                out[r] = s
            }
        } else {
            out = centred
        }
        let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let inv = norm > 0 ? 1 / norm : 0
        return out.map { Float($0 * inv) }
    }

    /// The points of `n` mean states ([n, C] row-major), [n, d].
    public func points(_ means: [Float]) -> [Float] {
        let C = hidden
        return (0..<(means.count / C)).flatMap { point(means[$0 * C..<($0 + 1) * C]) }
    }

    /// A document's point from its statistics (its layer means, or its final state for layer L).
    public func point(of s: DocumentStatistics) -> [Float] {
        let C = hidden, L = s.layerMeans.count / C
        return layer == L ? point(s.rawEmbedding[...]) : point(s.layerMeans[layer * C..<(layer + 1) * C])
    }

    /// The points of documents read by `model` (the anchor), [documents, d]: the forward pass stops at
    /// `layer`. What `/v1/route`, `tributary route` and the evaluations embed queries with.
    public func embed(model: Model, corpus: Corpus, batch: Int = 8, workers: Int = 2, shouldStop: () -> Bool = { false }) -> [Float] {
        Evaluator.layerMeans(model: model, corpus: corpus, layer: layer, batch: batch, workers: workers, shouldStop: shouldStop)
            .flatMap { point($0[...]) }
    }

    /// The points of query texts, [texts, d]: what `/v1/route` embeds (and `bench-route` times).
    public func embed(model: Model, texts: [String], batch: Int = 8, workers: Int = 2) -> [Float] {
        embed(model: model, corpus: Corpus(documents: texts.enumerated().map { Corpus.Document(source: "query \($0.offset)", bytes: Array($0.element.utf8)) }),
              batch: batch, workers: workers)
    }

    /// [document] → [predicted tokens × d]: the point of every causal prefix (`Evaluator.prefixMeans`).
    public func prefixPoints(model: Model, corpus: Corpus, workers: Int = 2) -> [[Float]] {
        Evaluator.prefixMeans(model: model, corpus: corpus, layer: layer, workers: workers).map(points)
    }

    // MARK: Files (the anchor's routing file and every routing index)

    public static let metadataKey = TensorNames.signatureSpaceMetadataKey

    /// Adds the space's tensors (and, for a projected space, its metadata) to a routing file or index.
    public func add(to w: inout SafetensorsWriter) {
        if let projection, let p = parameters {
            w.metadata[Self.metadataKey] = JSONWriter.string(p.json)
            w.add(TensorNames.signatureCenter, shape: [hidden], values: center)
            w.add(TensorNames.signatureProjection, shape: [dimension, hidden], values: projection)
        } else {
            w.add(TensorNames.embeddingCenter, shape: [hidden], values: center)
        }
    }

    /// The tensor names a file holding this space has for it.
    public var tensorNames: [String] {
        projection == nil ? [TensorNames.embeddingCenter] : [TensorNames.signatureCenter, TensorNames.signatureProjection]
    }

    /// Reads the space of a routing file or index of a model with `layers` layers of width `hidden`:
    /// projected when the file has `signature_projection`, else the legacy `embedding_center`.
    public static func read(_ file: SafetensorsFile, path: String, layers: Int, hidden: Int) throws -> SignatureSpace {
        func fail(_ why: String) -> TributaryError { TributaryError("routing.space", "\(path): \(why)") }
        guard file.tensors.contains(where: { $0.name == TensorNames.signatureProjection }) else {
            let center = try file.floats(TensorNames.embeddingCenter)
            guard center.count == hidden else { throw fail("\(TensorNames.embeddingCenter) has \(center.count) values, expected \(hidden)") }
            return SignatureSpace(layer: layers, center: center, projection: nil)
        }
        guard let text = file.metadata[metadataKey] else { throw fail("missing \(metadataKey)") }
        let p: SignatureSpaceParameters
        do { p = try SignatureSpaceParameters(json: try StrictJSONParser.parse(Array(text.utf8)), path: metadataKey) } catch {
            throw fail("\(metadataKey): \(error)")
        }
        guard p.layer <= layers else { throw fail("signature layer \(p.layer) of a \(layers)-layer model") }
        let center = try file.floats(TensorNames.signatureCenter)
        let info = try file.info(TensorNames.signatureProjection)
        guard center.count == hidden, info.shape == [p.dimension, hidden] else {
            throw fail("\(TensorNames.signatureCenter) has \(center.count) values and \(TensorNames.signatureProjection) shape \(info.shape); expected \(hidden) and [\(p.dimension), \(hidden)]")
        }
        let projection = try file.floats(info)
        guard center.allSatisfy(\.isFinite), projection.allSatisfy(\.isFinite) else { throw fail("the signature space is not finite") }
        return SignatureSpace(layer: p.layer, center: center, projection: projection)
    }

    // MARK: Fitting (public text only)

    /// How an anchor's space is chosen (measured on SmolLM2: benchmarks/README.md, "Routing signature").
    public struct Recipe: Sendable, Equatable {
        /// The layer; nil: `layerFraction` of the way up the anchor (at least layer 1). The study
        /// (benchmarks/README.md, bench-signature) found early layers route best on SmolLM2: layer 4
        /// of 30 first of 100 settings; they are also the cheapest to reach (a query runs 4 of 30 blocks).
        public var layer: Int?
        public var layerFraction = 0.13
        /// Dimensions kept (fewer when the public text or the hidden size cannot give them).
        public var dimension = 32
        /// Top public directions dropped before those kept.
        public var drop = 0
        public var whiten = true
        public init() {}

        /// The layer this recipe measures on an anchor of `L` layers.
        public func resolvedLayer(layers L: Int) -> Int {
            layer ?? min(L - 1, max(1, Int((layerFraction * Double(L)).rounded())))
        }

        /// The space fitted on public documents' statistics.
        public func fit(_ stats: [DocumentStatistics], layers L: Int, hidden C: Int) throws -> SignatureSpace {
            let l = resolvedLayer(layers: L)
            guard (0...L).contains(l) else { throw TributaryError("routing.space", "signature layer \(l) of a \(L)-layer model") }
            return try fit(layerRows: stats.map { l == L ? $0.rawEmbedding : Array($0.layerMeans[l * C..<(l + 1) * C]) }, layer: l, hidden: C)
        }

        /// The space fitted on public documents' mean states at `layer` (one row of `C` each).
        public func fit(layerRows: [[Float]], layer l: Int, hidden C: Int) throws -> SignatureSpace {
            // Whitening divides by each direction's public variance, so a direction needs enough public
            // documents to estimate it: at most one per 8 (on the byte-level test anchor's 62
            // documents, 32 whitened directions left owners' signatures routing 0% of their own text).
            let d = min(dimension, C - drop, whiten ? layerRows.count / 8 : layerRows.count - 1 - drop)
            guard d >= 1 else {
                let needed = whiten ? "8 public documents per whitened dimension" : "more than \(drop + 1) public documents"
                throw TributaryError("routing.too_little_text", "a signature space needs \(needed), \(layerRows.count) given")
            }
            return try SignatureSpace.fit(layerMeans: layerRows.flatMap { $0 }, hidden: C, layer: l, dimension: d, drop: drop, whiten: whiten)
        }
    }

    /// Fits the space on public documents' mean states at `layer` ([n, C] rows): centre, the
    /// `dimension` principal directions after the first `drop`, whitened when asked.
    public static func fit(layerMeans rows: [Float], hidden C: Int, layer: Int, dimension d: Int, drop: Int, whiten: Bool) throws -> SignatureSpace {
        let n = rows.count / C
        guard n > d + drop else {
            throw TributaryError("routing.too_little_text", "fitting a \(d)-dimensional signature space needs more than \(d + drop) public documents, \(n) given")
        }
        var mean = [Double](repeating: 0, count: C)
        for i in 0..<n { for c in 0..<C { mean[c] += Double(rows[i * C + c]) } }
        for c in 0..<C { mean[c] /= Double(n) }
        var cov = [Double](repeating: 0, count: C * C)
        var x = [Double](repeating: 0, count: C)
        for i in 0..<n {
            for c in 0..<C { x[c] = Double(rows[i * C + c]) - mean[c] }
            for a in 0..<C where x[a] != 0 {
                let xa = x[a]
                for b in a..<C { cov[a * C + b] += xa * x[b] }
            }
        }
        for a in 0..<C { for b in a..<C { cov[a * C + b] /= Double(n - 1); cov[b * C + a] = cov[a * C + b] } }
        let (vectors, values) = PrincipalComponents.top(drop + d, symmetric: cov, size: C)
        var projection = [Float]()
        projection.reserveCapacity(d * C)
        for r in drop..<(drop + d) {
            let scale = whiten ? 1 / max(values[r], 1e-12).squareRoot() : 1
            projection += vectors[r * C..<(r + 1) * C].map { Float($0 * scale) }
        }
        return SignatureSpace(layer: layer, center: mean.map { Float($0) }, projection: projection)
    }
}

/// The top eigenvectors of a symmetric positive semi-definite matrix by orthogonal (block power)
/// iteration: plain loops in Double in a fixed order, so the same matrix gives the same directions on
/// every CPU (no BLAS, whose kernels differ between AVX2 and AVX-512). Each direction's sign is fixed
/// (its largest coordinate positive).
public enum PrincipalComponents {
    /// `k` unit eigenvectors [k, n] row-major, by descending eigenvalue, and their eigenvalues.
    public static func top(_ k: Int, symmetric a: [Double], size n: Int, iterations: Int = 300) -> (vectors: [Double], values: [Double]) {
        precondition(a.count == n * n && k >= 1 && k <= n)
        // A fixed start: e_i plus a deterministic spread, orthonormalised.
        var q = [Double](repeating: 0, count: k * n)
        for j in 0..<k { for i in 0..<n { q[j * n + i] = (i == j ? 1 : 0) + 0.01 * sin(Double(7 * i + 13 * j + 1)) } }
        orthonormalise(&q, k, n)
        var z = [Double](repeating: 0, count: k * n)
        for _ in 0..<iterations {
            for j in 0..<k {
                for r in 0..<n {
                    var s = 0.0
                    for c in 0..<n { s += a[r * n + c] * q[j * n + c] }
                    z[j * n + r] = s
                }
            }
            orthonormalise(&z, k, n)
            swap(&q, &z)
        }
        // Rayleigh quotients, then order by them (the iteration converges to the top subspace; within it
        // the order is settled by sorting) and fix each sign.
        var values = [Double](repeating: 0, count: k)
        for j in 0..<k {
            var s = 0.0
            for r in 0..<n {
                var ar = 0.0
                for c in 0..<n { ar += a[r * n + c] * q[j * n + c] }
                s += q[j * n + r] * ar
            }
            values[j] = s
        }
        let order = (0..<k).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var vectors = [Double]()
        vectors.reserveCapacity(k * n)
        for j in order {
            var v = Array(q[j * n..<(j + 1) * n])
            let pivot = v.indices.max { abs(v[$0]) < abs(v[$1]) }!
            if v[pivot] < 0 { v = v.map { -$0 } }
            vectors += v
        }
        return (vectors, order.map { values[$0] })
    }

    /// Modified Gram–Schmidt on the k rows of `m` [k, n].
    static func orthonormalise(_ m: inout [Double], _ k: Int, _ n: Int) {
        for j in 0..<k {
            for p in 0..<j {
                var dot = 0.0
                for i in 0..<n { dot += m[j * n + i] * m[p * n + i] }
                for i in 0..<n { m[j * n + i] -= dot * m[p * n + i] }
            }
            var norm = 0.0
            for i in 0..<n { norm += m[j * n + i] * m[j * n + i] }
            norm = norm.squareRoot()
            if norm > 0 { for i in 0..<n { m[j * n + i] /= norm } }
        }
    }
}
