import Foundation
import TributaryContribution
import TributaryCore
import TributaryModel

/// The harmful-expert probe: bits per byte of the 2-expert model [anchor, new expert] on the server's
/// public probe text, against the anchor's own. An expert that makes public text clearly worse —
/// broken, or trained to do harm — is refused before it can enter a release.
public struct ExpertProbe: Sendable {
    public let corpus: Corpus
    public let anchorBitsPerByte: Double
    public let tolerance: Double
    let workers: Int

    public init(anchor: AnchorDirectory, probe: Corpus, tolerance: Double, workers: Int) {
        corpus = probe
        anchorBitsPerByte = Evaluator.evaluate(model: anchor.model, corpus: probe, workers: workers).bitsPerByte
        self.tolerance = tolerance
        self.workers = workers
    }

    public var limit: Double { anchorBitsPerByte * (1 + tolerance) }

    /// The probe's default size for `anchor`: about 10^12 FLOPs of forward pass (2 × parameters a
    /// token), in bytes at the tokenizer's rate (1 a token for the byte models, ~4 for BPE), within
    /// 8 KB to 256 KB. SmolLM2-135M: ~15 KB, ~9 s at ~400 tokens/s; the byte models: 256 KB as before.
    public static func defaultBytes(_ anchor: Model) -> Int {
        let tokens = 1e12 / (2 * Double(max(anchor.parameters.count, 1)))
        let bytes = tokens * (anchor.tokenizer.isBytes ? 1 : 4)
        return Int(min(256 * 1024, max(8 * 1024, bytes)))
    }

    /// The 2-expert model's probe bits per byte; throws `contribution.harmful` above the limit, and
    /// `contribution.greedy_routing` when in some expert layer the expert takes more than
    /// `maxGateShare` of the probe tokens' gate weight (both from one pass).
    @discardableResult
    public func check(anchor: AnchorDirectory, expert: ExpertWeights, routerRows: [Float], maxGateShare: Double? = nil) throws -> Double {
        let model = try ExpertAssembly.combine(anchor: anchor.model, anchorRows: anchor.routerRows, experts: [expert], rows: [routerRows], topK: 2)
        let (evaluation, gates) = GateStatistics.evaluate(model: model, corpus: corpus, workers: workers)
        let bpb = evaluation.bitsPerByte
        guard bpb <= limit else { throw ContributionError.harmful(anchor: anchorBitsPerByte, withExpert: bpb, limit: limit) }
        if let maxGateShare {
            for l in expert.layers where gates[l][1] > maxGateShare {
                throw ContributionError.greedyRouting(layer: l, share: gates[l][1], limit: maxGateShare)
            }
        }
        return bpb
    }

    /// Per expert layer, the share of the probe tokens' gate weight the expert takes in its 2-expert model.
    public func gateShares(anchor: AnchorDirectory, expert: ExpertWeights, routerRows: [Float]) throws -> [Double] {
        let model = try ExpertAssembly.combine(anchor: anchor.model, anchorRows: anchor.routerRows, experts: [expert], rows: [routerRows], topK: 2)
        let gates = GateStatistics.evaluate(model: model, corpus: corpus, workers: workers).gates
        return expert.layers.map { gates[$0][1] }
    }
}
