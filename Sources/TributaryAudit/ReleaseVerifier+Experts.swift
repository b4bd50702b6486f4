import TributaryCore

extension ReleaseVerifier {
    /// What a release must hold as a contributed expert's projection `w` ("w1", "w2" or "w3") of layer
    /// l: a full expert's bundled tensor; for a LoRA expert, the anchor's FFN weight with the update
    /// materialised by the protocol's exact arithmetic (`LoRAArithmetic`, the same bits on any CPU), or
    /// the anchor's own weight where the update does not target the projection. Nil when the factors
    /// do not fit the anchor's tensor (reported by the caller).
    static func expectedExpertTensor(layer l: Int, projection w: String, expert: SafetensorsFile, layout: ExpertLayout,
                                     anchor: SafetensorsFile) throws -> [Float]? {
        let bundled = ["w1": TensorNames.bundleW1(l), "w2": TensorNames.bundleW2(l), "w3": TensorNames.bundleW3(l)][w]!
        guard let lora = layout.lora else { return try expert.floats(bundled) }
        let target = LoRATarget.allCases.first { $0.mixtralName == w }!
        let anchorName = [LoRATarget.gate: TensorNames.mlpGate(l), .up: TensorNames.mlpUp(l), .down: TensorNames.mlpDown(l)][target]!
        let w0 = try anchor.floats(anchorName)
        guard lora.targets.contains(target) else { return w0 }
        let s = target.shape(hidden: layout.hiddenSize, intermediate: layout.intermediateSize)
        let a = try expert.floats(TensorNames.bundleLoRA(l, w, "A")), b = try expert.floats(TensorNames.bundleLoRA(l, w, "B"))
        guard try anchor.info(anchorName).shape == [s.out, s.in], w0.count == s.out * s.in, a.count == lora.rank * s.in, b.count == s.out * lora.rank else {
            return nil
        }
        return LoRAArithmetic.materialised(w0, a: a, b: b, rank: lora.rank, oc: s.out, ic: s.in, scale: lora.scale)
    }
}
