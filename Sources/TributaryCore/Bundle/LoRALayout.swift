import Foundation

/// A projection of the SwiGLU FFN a LoRA update can target, under PEFT's names for a Llama MLP.
public enum LoRATarget: String, CaseIterable, Sendable, Comparable {
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The projection's name in Mixtral and in bundles: w1 (gate), w3 (up), w2 (down).
    public var mixtralName: String { switch self { case .gate: "w1"; case .up: "w3"; case .down: "w2" } }

    /// [out, in] of the projection's weight in a model of hidden size H and intermediate size I.
    public func shape(hidden H: Int, intermediate I: Int) -> (out: Int, in: Int) { self == .down ? (H, I) : (I, H) }

    public static func < (a: LoRATarget, b: LoRATarget) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }

    /// `gate,up,down`; PEFT's `gate_proj`… and Mixtral's `w1`… name them too.
    public static func parseList(_ text: String) throws -> [LoRATarget] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let targets = try names.map { name in
            guard let t = allCases.first(where: { name == "\($0)" || name == $0.rawValue || name == $0.mixtralName }) else {
                throw TributaryError("model.invalid_lora", "LoRA target \"\(name)\" is none of gate, up, down")
            }
            return t
        }
        guard !targets.isEmpty, Set(targets).count == targets.count else {
            throw TributaryError("model.invalid_lora", "LoRA targets \"\(text)\" must name each of gate, up, down at most once")
        }
        return targets.sorted()
    }
}

/// A LoRA update's hyperparameters (protocol/SPEC.md §3.1.1, format `tributary-expert-lora-v1`): each
/// targeted projection W0 [out, in] of the anchor's FFN becomes W0 + (alpha / rank) · B [out, r] · A [r, in].
public struct LoRAParameters: Equatable, Sendable, CustomStringConvertible {
    /// The highest rank a bundle may declare: far above any useful adapter of the models run here
    /// (a server's policy sets its own, lower limit).
    public static let maxRank = 1024
    /// Metadata key of `expert.safetensors` holding the canonical JSON `{alpha, rank, targets}`.
    public static let metadataKey = "tributary.lora"

    public let rank: Int
    /// Exactly representable in F32 (it is read as F32 from the JSON number's text).
    public let alpha: Float
    /// Ascending (gate, up, down), unique, not empty.
    public let targets: [LoRATarget]

    public init(rank: Int, alpha: Float, targets: [LoRATarget] = LoRATarget.allCases) throws {
        guard (1...Self.maxRank).contains(rank) else { throw TributaryError("model.invalid_lora", "LoRA rank \(rank) must be in 1...\(Self.maxRank)") }
        guard alpha.isFinite, alpha > 0 else { throw TributaryError("model.invalid_lora", "LoRA alpha \(alpha) must be positive and finite") }
        guard !targets.isEmpty, Set(targets).count == targets.count else {
            throw TributaryError("model.invalid_lora", "a LoRA update needs distinct targets, at least one")
        }
        self.rank = rank
        self.alpha = alpha
        self.targets = targets.sorted()
    }

    /// alpha / rank, one F32 division: the scale every materialisation uses.
    public var scale: Float { alpha / Float(rank) }

    public var description: String { "rank \(rank), alpha \(alpha) on \(targets.map(\.rawValue).joined(separator: ","))" }

    public var json: JSONValue {
        .object([("alpha", .number("\(alpha)")), ("rank", .int(rank)), ("targets", .array(targets.map { .string($0.rawValue) }))])
    }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        guard case let .number(text)? = r.optionalValue("alpha"), let alpha = Float(text) else {
            throw JSONSchemaError(path: "\(path).alpha", problem: "expected a number")
        }
        let rank = try r.int("rank", in: 1...Self.maxRank)
        var targets = [LoRATarget]()
        for (i, v) in try r.array("targets").enumerated() {
            guard case let .string(s) = v, let t = LoRATarget(rawValue: s) else {
                throw JSONSchemaError(path: "\(path).targets[\(i)]", problem: "must be one of gate_proj, up_proj, down_proj")
            }
            targets.append(t)
        }
        guard targets == targets.sorted(), Set(targets).count == targets.count else {
            throw JSONSchemaError(path: "\(path).targets", problem: "must be distinct and in the order gate_proj, up_proj, down_proj")
        }
        try r.finish()
        do { self = try LoRAParameters(rank: rank, alpha: alpha, targets: targets) } catch {
            throw JSONSchemaError(path: path, problem: "\(error)")
        }
    }
}

/// The one arithmetic every release uses to turn LoRA factors into an expert's weights.
public enum LoRAArithmetic {
    /// w[OC, IC] = w0 + s · b[OC, r] · a[r, IC], defined to the bit (protocol/SPEC.md §3.1.1): for each (o, i)
    ///   u = 0; for k in 0..<r: u = u + (b[o, k] · a[k, i])   (the product rounded to F32, then the sum)
    ///   w[o, i] = w0[o, i] + (s · u)
    /// all in F32, k ascending. No BLAS (its kernels differ between AVX2 and AVX-512) and no fused
    /// multiply-add: Swift does not contract `x * y + z` (LLVM contracts only when told to), and each
    /// product is a value of its own here. `w` may be `w0`.
    public static func materialise(w: UnsafeMutablePointer<Float>, w0: UnsafePointer<Float>, a: UnsafePointer<Float>,
                                   b: UnsafePointer<Float>, rank r: Int, oc: Int, ic: Int, scale s: Float) {
        for o in 0..<oc {
            let bRow = b + o * r, wRow = w + o * ic, w0Row = w0 + o * ic
            for i in 0..<ic {
                var u: Float = 0
                for k in 0..<r {
                    let p = bRow[k] * a[k * ic + i]
                    u = u + p
                }
                let update = s * u
                wRow[i] = w0Row[i] + update
            }
        }
    }

    /// The same on arrays: w0 with the update applied.
    public static func materialised(_ w0: [Float], a: [Float], b: [Float], rank r: Int, oc: Int, ic: Int, scale s: Float) -> [Float] {
        precondition(w0.count == oc * ic && a.count == r * ic && b.count == oc * r, "LoRA factors of other shapes")
        var w = w0
        w.withUnsafeMutableBufferPointer { pw in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    LoRAArithmetic.materialise(w: pw.baseAddress!, w0: pw.baseAddress!, a: pa.baseAddress!, b: pb.baseAddress!,
                                               rank: r, oc: oc, ic: ic, scale: s)
                }
            }
        }
        return w
    }
}

extension BundleLayout {
    /// A LoRA expert's layout (format `tributary-expert-lora-v1`): its `tributary.lora` metadata, and for
    /// each layer l and target w exactly `layers.{l}.{w}.lora_A.weight` [r, in] and `lora_B.weight`
    /// [out, r], F32, nothing else.
    static func loraExpertLayout(of header: SafetensorsHeader) throws(BundleError) -> ExpertLayout {
        guard let text = header.metadata[LoRAParameters.metadataKey] else {
            throw .expertLayout("LoRA tensors without \(LoRAParameters.metadataKey) metadata")
        }
        let lora: LoRAParameters
        do { lora = try LoRAParameters(json: try StrictJSONParser.parse(Array(text.utf8)), path: LoRAParameters.metadataKey) } catch {
            throw .expertLayout("\(LoRAParameters.metadataKey): \(error)")
        }
        let perLayer = 2 * lora.targets.count
        guard header.tensors.count % perLayer == 0, header.tensors.count <= perLayer * ModelBounds.maxLayers else {
            throw .expertLayout("expected \(perLayer) tensors per layer, found \(header.tensors.count)")
        }
        var layerSet = Set<Int>()
        for t in header.tensors {
            guard let (l, _, _) = loraTensor(of: t.name) else { throw .expertLayout("\(t.name) is not layers.{l}.w1/w2/w3.lora_A/lora_B.weight") }
            layerSet.insert(l)
        }
        let layers = layerSet.sorted()
        // H and I from the first target's factors of the first layer.
        let t0 = lora.targets[0]
        guard let a0 = try? header.tensor(named: TensorNames.bundleLoRA(layers[0], t0.mixtralName, "A")), a0.shape.count == 2,
              let b0 = try? header.tensor(named: TensorNames.bundleLoRA(layers[0], t0.mixtralName, "B")), b0.shape.count == 2 else {
            throw .expertLayout("missing the factors of \(t0.rawValue) in layer \(layers[0])")
        }
        let (hidden, inter) = t0 == .down ? (b0.shape[0], a0.shape[1]) : (a0.shape[1], b0.shape[0])
        guard hidden > 0, inter > 0 else { throw .expertLayout("layer \(layers[0])'s factors have an empty dimension") }
        var tensors = [ExpertLayout.Tensor]()
        for l in layers {
            for target in lora.targets {
                let s = target.shape(hidden: hidden, intermediate: inter)
                for (factor, shape) in [("A", [lora.rank, s.in]), ("B", [s.out, lora.rank])] {
                    let name = TensorNames.bundleLoRA(l, target.mixtralName, factor)
                    guard let t = try? header.tensor(named: name) else { throw .expertLayout("missing tensor \(name)") }
                    guard t.shape == shape else { throw .expertLayout("\(name) has shape \(t.shape), expected \(shape)") }
                    guard t.dtype == .F32 else { throw .expertLayout("\(name) is \(t.dtype.rawValue); LoRA factors are F32") }
                    tensors.append(.init(name: name, shape: shape))
                }
            }
        }
        return ExpertLayout(layers: layers, hiddenSize: hidden, intermediateSize: inter, dtype: "F32", tensors: tensors, lora: lora)
    }

    /// (layer, projection, factor) of `layers.{l}.{w1|w2|w3}.lora_{A|B}.weight`, written canonically.
    static func loraTensor(of name: String) -> (Int, String, String)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "layers", ["w1", "w2", "w3"].contains(parts[2]), ["lora_A", "lora_B"].contains(parts[3]),
              parts[4] == "weight", let l = Int(parts[1]), l >= 0, l < ModelBounds.maxLayers, String(l) == parts[1] else { return nil }
        return (l, String(parts[2]), String(parts[3].dropFirst(5)))
    }
}
