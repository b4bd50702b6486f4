import Foundation
import Testing
import TributaryCore
@testable import TributaryModel

/// LoRA experts: the exact materialisation against NumPy's F32 arithmetic (a vector where the order
/// of the sum and fused multiply-add both change bits), training's sgemm materialisation against it,
/// and a LoRA expert trained like a full one.
@Suite struct LoRATests {
    @Test func exactMaterialisationMatchesTheVectorBitForBit() throws {
        let data = try #require(FileManager.default.contents(atPath: packageRoot + "/protocol/test-vectors/lora/materialise.json"))
        let v = try StrictJSONParser.parse(Array(data))
        func floats(_ key: String) throws -> [Float] { try #require(v[key]?.arrayValue).map { Float(bitPattern: UInt32($0.intValue!)) } }
        let oc = try #require(v["out"]?.intValue), ic = try #require(v["in"]?.intValue), r = try #require(v["rank"]?.intValue)
        let alpha = Float(bitPattern: UInt32(try #require(v["alpha_bits"]?.intValue)))
        let w0 = try floats("w0"), a = try floats("a"), b = try floats("b"), expected = try floats("w")
        var w = [Float](repeating: 0, count: oc * ic)
        let scale = try LoRAParameters(rank: r, alpha: alpha).scale
        LoRAArithmetic.materialise(w: &w, w0: w0, a: a, b: b, rank: r, oc: oc, ic: ic, scale: scale)
        #expect(differences(w, expected) == 0)
        // The vector can fail: summing once in Double gives other bits.
        let once = (0..<oc * ic).map { j -> Float in
            let (o, i) = (j / ic, j % ic)
            return Float(Double(w0[j]) + Double(scale) * (0..<r).reduce(0.0) { $0 + Double(b[o * r + $1]) * Double(a[$1 * ic + i]) })
        }
        #expect(differences(once, expected) > 0)        // The committed vector is what NumPy computes now (it was not edited by hand).
        let regenerated = try runProcess(try interopPython(), [packageRoot + "/scripts/lora-vector.py"])
        #expect(regenerated == Array(data), "scripts/lora-vector.py no longer writes protocol/test-vectors/lora/materialise.json")
    }

    /// Training materialises by sgemm, a release exactly: the two agree within the rounding of an
    /// r-term dot product (r · 2⁻²³ of Σ|b·a|, plus one rounding of w).
    @Test func trainingAndReleaseMaterialisationsAgree() throws {
        let c = tinyConfig.withExperts(2, topK: 2, layers: [1])
        let base = Model.initialised(config: c, seed: 3)
        let lora = try LoRAShape(rank: 4, alpha: 8, targets: [.gate, .down])
        let m = try base.withLoRA(lora, seed: 5)
        var rng = RNG(seed: 6)
        for t in m.layout.tensors where t.name.contains("lora_B") {
            for i in 0..<t.count { m.parameters[t.offset + i] = Float(rng.normal() * 0.05) }
        }
        m.materialiseLoRA()
        let factors = LoRAFactors(of: m)
        #expect(factors.parameterCount == lora.factorCount(c))
        let exact = try factors.materialised(onto: ExpertWeights(expert: 0, of: m), config: c)
        let trained = ExpertWeights(expert: 1, of: m), anchor = ExpertWeights(expert: 0, of: m)
        for (x, y, w0) in [(exact.w1[0], trained.w1[0], anchor.w1[0]), (exact.w2[0], trained.w2[0], anchor.w2[0])] {
            #expect(zip(x, y).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
            #expect(differences(x, w0) > 0)
        }
        // Up is not a target: both leave it the anchor's, bit for bit.
        #expect(differences(exact.w3[0], anchor.w3[0]) == 0 && differences(trained.w3[0], anchor.w3[0]) == 0)
        // Factors of another shape are refused.
        var bad = factors
        bad.a[0][0].removeLast()
        #expect(throws: TributaryError.self) { try bad.materialised(onto: anchor, config: c) }
    }

    @Test func badShapesAreRefused() {
        #expect(throws: TributaryError.self) { try LoRAShape(rank: 0, alpha: 1) }
        #expect(throws: TributaryError.self) { try LoRAShape(rank: LoRAParameters.maxRank + 1, alpha: 1) }
        #expect(throws: TributaryError.self) { try LoRAShape(rank: 4, alpha: .nan) }
        #expect(throws: TributaryError.self) { try LoRAShape(expert: 0, rank: 4, alpha: 4) }
        #expect(throws: TributaryError.self) { try LoRAShape.Target.parseList("gate,gate") }
        #expect(throws: TributaryError.self) { try LoRAShape.Target.parseList("q_proj") }
        #expect((try? LoRAShape.Target.parseList("down_proj, w1")) == [.gate, .down])
    }

    /// A LoRA expert trains like a full one: the loss falls, only the factors and the router row
    /// change, the anchor's weights stay bit-identical, and the expert is the anchor's FFN plus the update.
    @Test func aLoRAExpertTrains() throws {
        let anchor = try tinyAnchor(steps: 10)
        let data = corpus(["int main(void) { return 0; }\n", "static int f(int a) { return a * 2; }\n"].map { String(repeating: $0, count: 8) })
        let lora = try LoRAShape(rank: 4, alpha: 8)
        let r = try ExpertTraining.train(anchor: anchor, data: data, routerRows: ownerRows(anchor, data), layers: [1], lora: lora,
                                         options: tinyOptions(steps: 12, lr: 1e-2), checkpointDirectory: nil, restart: false, progress: nil)
        #expect(r.training.finalLoss < r.training.losses.first!)
        let a = anchor.model, m = r.model
        for t in a.layout.tensors where !t.name.contains("mlp.") {
            #expect(differences(m.values(of: t.name)!, a.values(of: t.name)!) == 0, "\(t.name) changed")
        }
        let factors = try #require(r.loraFactors)
        #expect(factors.layers == [1] && factors.b[0].contains { $0.contains { $0 != 0 } })
        let anchorFFN = ExpertWeights(denseFFNOf: a, layers: [1])
        let released = try factors.materialised(onto: anchorFFN, config: a.config)
        #expect(zip(released.w2[0], r.expert.w2[0]).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
        #expect(differences(released.w2[0], anchorFFN.w2[0]) > 0)
        #expect(r.training.losses.count == 12)
    }
}
