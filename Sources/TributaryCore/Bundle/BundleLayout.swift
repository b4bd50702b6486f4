/// The fixed file set of a contribution bundle and the tensor layout of its two safetensors files
/// (protocol/SPEC.md §3).
public enum BundleLayout {
    public static let expertFile = "expert.safetensors"
    public static let routingFile = "routing.safetensors"
    public static let statementFile = "statement.json"
    public static let envelopeFile = "envelope.json"
    public static let allFiles: Set<String> = [expertFile, routingFile, statementFile, envelopeFile]
    /// The subjects a statement must list, in this order.
    public static let subjectFiles = [expertFile, routingFile]

    /// Metadata keys the training client writes into the safetensors files and `sign` reads back.
    public static let anchorMetadataKey = "tributary.anchor_sha256"
    public static let trainingMetadataKey = "tributary.training"
    public static let routingMetadataKey = "tributary.routing"


    /// A name a bundle may hold: no separators, no `..`, no leading dot, no control characters.
    public static func isAcceptableName(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..", !name.hasPrefix("."), !name.contains("/"), !name.contains("..")
        else { return false }
        return name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f && !(0x80...0x9f).contains($0.value) }
    }

    /// Derives the expert layout from `expert.safetensors`'s header: for each layer l it covers
    /// `layers.{l}.w1` [I, H], `w2` [H, I], `w3` [I, H] (SwiGLU: down(silu(x W1ᵀ) ⊙ x W3ᵀ)), one dtype,
    /// nothing else. The layers are the anchor's indices, any non-empty set of them.
    public static func expertLayout(of header: SafetensorsHeader) throws(BundleError) -> ExpertLayout {
        if header.tensors.contains(where: { $0.name.contains(".lora_") }) || header.metadata[LoRAParameters.metadataKey] != nil {
            return try loraExpertLayout(of: header)
        }
        let names = Set(header.tensors.map(\.name))
        guard header.tensors.count % 3 == 0, !header.tensors.isEmpty, header.tensors.count <= 3 * ModelBounds.maxLayers else {
            throw .expertLayout("expected 3 tensors per layer, found \(header.tensors.count)")
        }
        var layerSet = Set<Int>()
        for t in header.tensors {
            guard let l = bundleLayer(of: t.name) else { throw .expertLayout("\(t.name) is not layers.{l}.w1/w2/w3.weight") }
            layerSet.insert(l)
        }
        let layers = layerSet.sorted()
        guard let first = header.tensors.first(where: { $0.name == TensorNames.bundleW1(layers[0]) }), first.shape.count == 2 else {
            throw .expertLayout("missing \(TensorNames.bundleW1(layers[0])) of shape [intermediate, hidden]")
        }
        let inter = first.shape[0], hidden = first.shape[1]
        guard inter > 0, hidden > 0 else { throw .expertLayout("\(first.name) has an empty dimension") }
        let dtype = first.dtype
        guard dtype == .F32 || dtype == .BF16 else { throw .expertLayout("dtype \(dtype.rawValue) is not F32 or BF16") }
        var tensors = [ExpertLayout.Tensor]()
        for l in layers {
            for (name, shape) in [(TensorNames.bundleW1(l), [inter, hidden]), (TensorNames.bundleW2(l), [hidden, inter]), (TensorNames.bundleW3(l), [inter, hidden])] {
                guard names.contains(name), let t = try? header.tensor(named: name) else {
                    throw .expertLayout("missing tensor \(name)")
                }
                guard t.shape == shape else { throw .expertLayout("\(name) has shape \(t.shape), expected \(shape)") }
                guard t.dtype == dtype else { throw .expertLayout("\(name) is \(t.dtype.rawValue), the expert is \(dtype.rawValue)") }
                tensors.append(.init(name: name, shape: shape))
            }
        }
        return ExpertLayout(layers: layers, hiddenSize: hidden, intermediateSize: inter, dtype: dtype.rawValue, tensors: tensors)
    }

    /// The layer of a bundle tensor name `layers.{l}.w{1,2,3}.weight` (l < `ModelBounds.maxLayers`, written canonically).
    static func bundleLayer(of name: String) -> Int? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "layers", ["w1", "w2", "w3"].contains(parts[2]), parts[3] == "weight",
              let l = Int(parts[1]), l >= 0, l < ModelBounds.maxLayers, String(l) == parts[1] else { return nil }
        return l
    }

    /// Checks `routing.safetensors`: `centroids` [k, d], `centroid_counts` [k], `router_rows` [L, H], F32.
    /// `centroidDimension`: the centroids' width the statement declares (nil: any, checked by the caller).
    public static func checkRouting(_ header: SafetensorsHeader, layers: Int, hidden: Int, centroidDimension: Int?) throws(BundleError) -> Int {
        guard header.tensors.count == 3 else {
            throw .routingLayout("expected exactly \(TensorNames.centroids), \(TensorNames.centroidCounts) and \(TensorNames.routerRows), found \(header.tensors.map(\.name))")
        }
        func get(_ n: String) throws(BundleError) -> TensorInfo {
            guard let t = try? header.tensor(named: n) else { throw .routingLayout("missing tensor \(n)") }
            guard t.dtype == .F32 else { throw .routingLayout("\(n) must be F32, is \(t.dtype.rawValue)") }
            return t
        }
        let c = try get(TensorNames.centroids), n = try get(TensorNames.centroidCounts), r = try get(TensorNames.routerRows)
        guard c.shape.count == 2, centroidDimension.map({ c.shape[1] == $0 }) ?? (c.shape[1] >= 1) else {
            throw .routingLayout("\(TensorNames.centroids) has shape \(c.shape), expected [k, \(centroidDimension.map(String.init) ?? "d")]")
        }
        guard n.shape == [c.shape[0]] else { throw .routingLayout("\(TensorNames.centroidCounts) has shape \(n.shape), expected [\(c.shape[0])]") }
        guard r.shape == [layers, hidden] else { throw .routingLayout("\(TensorNames.routerRows) has shape \(r.shape), expected [\(layers), \(hidden)]") }
        return c.shape[0]
    }

    /// The routing file holds what `declared` says, for an expert of layout `expert`: one rule for
    /// signing (the file's metadata against its tensors) and verifying (the statement against them).
    public static func checkRouting(_ header: SafetensorsHeader, declared p: RoutingParameters, expert: ExpertLayout) throws(BundleError) {
        let k = try checkRouting(header, layers: p.layers, hidden: expert.hiddenSize, centroidDimension: p.centroidDimension)
        guard k == p.centroids, p.dimension == expert.hiddenSize, expert.layers.last! < p.layers else {
            throw .routingLayout("the routing parameters declare \(p.centroids) centroids over \(p.layers) layers of width \(p.dimension); the tensors hold \(k) centroids, and the expert is for layers \(ContributionPolicy.describe(expert.layers)) of width \(expert.hiddenSize)")
        }
    }
}
