/// Weight merging of an MoE's experts into one dense FFN: the classic baselines that the demo's table
/// sets beside routing. Expert 0 is the anchor's FFN (every Tributary release keeps it there); the
/// contributed experts' task vectors are τ_e = W_e − W_0, per tensor.
public enum WeightMerging {
    /// The uniform average of every expert's weights, the anchor's included (a model soup).
    public static func uniformSoup(_ model: Model) -> Model {
        merged(model) { base, experts in
            var out = base
            let n = Float(experts.count + 1)
            for i in out.indices { out[i] = experts.reduce(base[i]) { $0 + $1[i] } / n }
            return out
        }
    }

    /// Task arithmetic (Ilharco et al., 2023): W_0 + λ Σ_e τ_e. λ = 1 adds every expert's change in
    /// full; the paper tunes λ on validation data, which the operator does not have.
    public static func taskArithmetic(_ model: Model, lambda: Float = 1) -> Model {
        merged(model) { base, experts in taskArithmetic(base: base, experts: experts, lambda: lambda) }
    }

    /// TIES's defaults in the paper: keep 20% of each task vector, λ = 1.
    public static let tiesDensity = 0.2
    public static let tiesLambda: Float = 1

    /// TIES merging (Yadav et al., 2023): trim each τ_e to its `density` largest magnitudes (per
    /// tensor, as mergekit does), elect a sign per weight (the sign of the trimmed vectors' sum),
    /// average the values that agree with it (disjoint mean), add λ times that to W_0.
    public static func ties(_ model: Model, density: Double = tiesDensity, lambda: Float = tiesLambda) -> Model {
        merged(model) { base, experts in ties(base: base, experts: experts, density: density, lambda: lambda) }
    }

    // [n] base, [E][n] experts -> [n]
    public static func taskArithmetic(base: [Float], experts: [[Float]], lambda: Float) -> [Float] {
        var out = base
        for x in experts { for i in out.indices { out[i] += lambda * (x[i] - base[i]) } }
        return out
    }

    // [n] base, [E][n] experts -> [n]
    public static func ties(base: [Float], experts: [[Float]], density: Double, lambda: Float) -> [Float] {
        let trimmed = experts.map { trim(zip($0, base).map { $0 - $1 }, density: density) }
        var out = base
        for i in base.indices {
            let total = trimmed.reduce(Float(0)) { $0 + $1[i] }
            guard total != 0 else { continue }
            var sum: Float = 0, count = 0
            for t in trimmed where t[i] != 0 && (t[i] > 0) == (total > 0) {
                sum += t[i]
                count += 1
            }
            if count > 0 { out[i] += lambda * sum / Float(count) }
        }
        return out
    }

    /// `v` with all but its ⌈density·n⌉ largest magnitudes set to 0 (ties at the threshold kept).
    static func trim(_ v: [Float], density: Double) -> [Float] {
        let density = density.isFinite ? min(max(density, 0), 1) : 0
        let keep = min(v.count, Int((density * Double(v.count)).rounded(.up)))
        guard keep < v.count else { return v }
        guard keep > 0 else { return [Float](repeating: 0, count: v.count) }
        let threshold = v.map(abs).sorted(by: >)[keep - 1]
        return v.map { abs($0) >= threshold ? $0 : 0 }
    }

    /// A dense model with `model`'s shared weights and, in each expert layer, `merge` applied tensor
    /// by tensor (w1, w3, w2) to the anchor's FFN and the contributed experts'.
    static func merged(_ model: Model, _ merge: ([Float], [[Float]]) -> [Float]) -> Model {
        let E = model.config.numExperts
        let anchor = ExpertWeights(expert: 0, of: model)
        let experts = (1..<max(E, 1)).map { ExpertWeights(expert: $0, of: model) }
        func each(_ pick: (ExpertWeights) -> [[Float]]) -> [[Float]] {
            anchor.layers.indices.map { l in merge(pick(anchor)[l], experts.map { pick($0)[l] }) }
        }
        return ExpertAssembly.dense(sharing: model, ffn: ExpertWeights(layers: anchor.layers, w1: each(\.w1), w2: each(\.w2), w3: each(\.w3)))
    }
}
