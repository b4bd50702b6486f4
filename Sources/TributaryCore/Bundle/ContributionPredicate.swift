/// The predicate of a contribution statement, type `ContributionPredicate.type` (protocol/SPEC.md §4).
/// Every field is required; unknown fields are refused.
public struct ContributionPredicate: Equatable, Sendable {
    /// v3: routing signatures in the anchor's signature space (`routing.space` required).
    public static let type = "https://tributary.dev/contribution/v3"
    /// v2: centroids in the anchor's whole final state (`routing.space` absent); still read, so logs
    /// made before v3 audit, and still made against anchors without a signature space.
    public static let typeV2 = "https://tributary.dev/contribution/v2"
    public static let types = [type, typeV2]

    /// The predicate type a statement with these routing parameters has.
    public static func type(for routing: RoutingParameters) -> String { routing.space == nil ? typeV2 : type }

    /// The log origin of the one deployment this contribution is for (a server refuses any other).
    public var origin: String
    public var organisation: String
    /// Lower-case hex C2SP key ID of the signing key.
    public var keyID: String
    /// SHA-256 of the anchor's weights file.
    public var anchorSHA256: String
    public var expert: ExpertLayout
    public var routing: RoutingParameters
    public var training: TrainingSummary
    /// RFC 3339 UTC with seconds, e.g. `2026-11-23T19:35:00Z`.
    public var createdAt: String
    /// 32 random bytes, lower-case hex: makes every statement unique, so replays are recognisable.
    public var nonce: String

    public init(origin: String, organisation: String, keyID: String, anchorSHA256: String, expert: ExpertLayout,
                routing: RoutingParameters, training: TrainingSummary, createdAt: String, nonce: String) {
        self.origin = origin
        self.organisation = organisation
        self.keyID = keyID
        self.anchorSHA256 = anchorSHA256
        self.expert = expert
        self.routing = routing
        self.training = training
        self.createdAt = createdAt
        self.nonce = nonce
    }

    public var json: JSONValue {
        .object([
            ("origin", .string(origin)),
            ("organisation", .string(organisation)),
            ("keyID", .string(keyID)),
            ("anchor", .object([("digest", .object([("sha256", .string(anchorSHA256))]))])),
            ("expert", expert.json),
            ("routing", routing.json),
            ("training", training.json),
            ("createdAt", .string(createdAt)),
            ("nonce", .string(nonce)),
        ])
    }

    /// Reads a predicate of type `type` (one of `types`): v3 requires `routing.space`, v2 forbids it.
    public init(json: JSONValue, type: String = ContributionPredicate.type) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: "predicate")
        origin = try r.string("origin")
        guard LogOrigin.isValid(origin) else {
            throw JSONSchemaError(path: "predicate.origin", problem: "must be a log origin: 1 to 255 printable ASCII characters, no spaces")
        }
        organisation = try r.string("organisation")
        guard OrganisationName.isCanonical(organisation) else {
            throw JSONSchemaError(path: "predicate.organisation", problem: OrganisationName.rule)
        }
        keyID = try r.string("keyID")
        guard Hex.isLowerHex(keyID, byteCount: 4) else {
            throw JSONSchemaError(path: "predicate.keyID", problem: "must be 8 lower-case hex digits")
        }
        var anchor = try r.object("anchor")
        var digest = try anchor.object("digest")
        anchorSHA256 = try digest.string("sha256")
        try digest.finish()
        try anchor.finish()
        guard Hex.isLowerHex(anchorSHA256, byteCount: 32) else {
            throw JSONSchemaError(path: "predicate.anchor.digest.sha256", problem: "must be 64 lower-case hex digits")
        }
        expert = try ExpertLayout(json: try r.value("expert"), path: "predicate.expert")
        routing = try RoutingParameters(json: try r.value("routing"), path: "predicate.routing")
        guard Self.type(for: routing) == type else {
            throw JSONSchemaError(path: "predicate.routing.space", problem: type == Self.typeV2
                ? "is not part of a \(Self.typeV2) statement" : "is required in a \(Self.type) statement")
        }
        training = try TrainingSummary(json: try r.value("training"), path: "predicate.training")
        createdAt = try r.string("createdAt")
        guard Timestamp.parseRFC3339(createdAt) != nil else {
            throw JSONSchemaError(path: "predicate.createdAt", problem: "must be RFC 3339 UTC like 2026-11-23T19:35:00Z")
        }
        nonce = try r.string("nonce")
        guard Hex.isLowerHex(nonce, byteCount: 32) else {
            throw JSONSchemaError(path: "predicate.nonce", problem: "must be 64 lower-case hex digits")
        }
        try r.finish()
    }
}

/// The expert's tensors: names, shapes and dtype, exactly as in `expert.safetensors`.
public struct ExpertLayout: Equatable, Sendable {
    public static let format = "tributary-expert-v1"
    /// A LoRA expert: factors of an update of the anchor's FFN (§3.1), with `lora` set.
    public static let loraFormat = "tributary-expert-lora-v1"

    public struct Tensor: Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
    }

    /// The anchor layers the expert has weights for, ascending (FlexOlmo in every layer, or MDEL's
    /// "specific layers": the top ones are the cheapest to train).
    public var layers: [Int]
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var dtype: String
    public var tensors: [Tensor]
    /// A LoRA expert's hyperparameters; nil for a full expert.
    public var lora: LoRAParameters?

    public init(layers: [Int], hiddenSize: Int, intermediateSize: Int, dtype: String, tensors: [Tensor], lora: LoRAParameters? = nil) {
        self.layers = layers
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.dtype = dtype
        self.tensors = tensors
        self.lora = lora
    }

    var json: JSONValue {
        .object([
            ("format", .string(lora == nil ? Self.format : Self.loraFormat)),
            ("layers", .array(layers.map { .int($0) })),
            ("hiddenSize", .int(hiddenSize)),
            ("intermediateSize", .int(intermediateSize)),
            ("dtype", .string(dtype)),
            ("tensors", .array(tensors.map { .object([("name", .string($0.name)), ("shape", .array($0.shape.map { .int($0) }))]) })),
        ] + (lora.map { [("lora", $0.json)] } ?? []))
    }

    init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        let format = try r.string("format")
        guard format == Self.format || format == Self.loraFormat else {
            throw JSONSchemaError(path: "\(path).format", problem: "unsupported expert format \"\(format)\"")
        }
        layers = try r.value("layers").intArray(path: "\(path).layers")
        guard ModelBounds.isLayerSet(layers) else {
            throw JSONSchemaError(path: "\(path).layers", problem: "must be distinct ascending layer indices below \(ModelBounds.maxLayers)")
        }
        hiddenSize = try r.int("hiddenSize", in: 1...1 << 20)
        intermediateSize = try r.int("intermediateSize", in: 1...1 << 22)
        dtype = try r.label("dtype")
        var ts = [Tensor]()
        for (i, v) in try r.array("tensors").enumerated() {
            var t = try JSONObjectReader(v, path: "\(path).tensors[\(i)]")
            let name = try t.label("name", maxBytes: 128)
            let shape = try t.value("shape").intArray(path: "\(path).tensors[\(i)].shape")
            try t.finish()
            ts.append(Tensor(name: name, shape: shape))
        }
        tensors = ts
        if format == Self.loraFormat { lora = try LoRAParameters(json: try r.value("lora"), path: "\(path).lora") }
        try r.finish()
    }
}

/// Where a signature's router rows come from.
public enum RouterRowSource: String, Sendable, CaseIterable {
    /// Router rows after gradient training (FlexOlmo): not covered by DP unless training was DP.
    case trained
    /// The differentially private mean hidden state, kept frozen during training.
    case dpMean = "dp-mean"
}

/// The quantities a routing signature releases through the Gaussian mechanism, as named in
/// `noiseMultipliers` (protocol/SPEC.md §6.2).
public enum DPRelease: String, Sendable, CaseIterable, Comparable {
    case centroidSums, centroidCounts, routerRows
    public static func < (a: DPRelease, b: DPRelease) -> Bool { a.rawValue < b.rawValue }
}

/// How the routing signature was made, including the differential-privacy parameters actually used.
public struct RoutingParameters: Equatable, Sendable {
    public var centroids: Int
    /// The anchor's hidden size: the router rows' width (and, without a `space`, the centroids').
    public var dimension: Int
    public var layers: Int
    public var routerRowSource: RouterRowSource
    public var privacy: PrivacyParameters
    /// The anchor's signature space the centroids live in; nil for anchors made before signature
    /// spaces (v2 statements), whose centroids are in the whole centred final state.
    public var space: SignatureSpaceParameters?

    public init(centroids: Int, dimension: Int, layers: Int, routerRowSource: RouterRowSource, privacy: PrivacyParameters,
                space: SignatureSpaceParameters? = nil) {
        self.centroids = centroids
        self.dimension = dimension
        self.layers = layers
        self.routerRowSource = routerRowSource
        self.privacy = privacy
        self.space = space
    }

    /// The width of each centroid.
    public var centroidDimension: Int { space?.dimension ?? dimension }

    /// The parameters a routing file (a bundle's, or an anchor's) carries in its metadata.
    public init(file: SafetensorsFile, path: String) throws {
        guard let meta = file.metadata[BundleLayout.routingMetadataKey] else {
            throw BundleError.metadata(file: path, problem: "missing \(BundleLayout.routingMetadataKey)")
        }
        do { self = try RoutingParameters(json: try StrictJSONParser.parse(Array(meta.utf8)), path: BundleLayout.routingMetadataKey) } catch {
            throw BundleError.metadata(file: path, problem: "\(error)")
        }
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("centroids", .int(centroids)),
            ("dimension", .int(dimension)),
            ("layers", .int(layers)),
            ("routerRowSource", .string(routerRowSource.rawValue)),
            ("privacy", privacy.json),
        ]
        if let space { members.append(("space", space.json)) }
        return .object(members)
    }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        centroids = try r.int("centroids", in: 0...1 << 16)
        dimension = try r.int("dimension", in: 1...1 << 20)
        layers = try r.int("layers", in: 1...ModelBounds.maxLayers)
        if let v = r.optionalValue("space") {
            let s = try SignatureSpaceParameters(json: v, path: "\(path).space")
            guard s.layer <= layers, s.dimension <= dimension else {
                throw JSONSchemaError(path: "\(path).space", problem: "layer must be at most \(layers) and dimension at most \(dimension)")
            }
            space = s
        } else {
            space = nil
        }
        guard let source = RouterRowSource(rawValue: try r.string("routerRowSource")) else {
            throw JSONSchemaError(path: "\(path).routerRowSource", problem: "must be \"trained\" or \"dp-mean\"")
        }
        routerRowSource = source
        privacy = try PrivacyParameters(json: try r.value("privacy"), path: "\(path).privacy")
        try r.finish()
    }
}

public struct PrivacyParameters: Equatable, Sendable {
    /// False only for `--no-dp` experiments; a server may refuse such contributions.
    public var enabled: Bool
    public var mechanism: String
    public var accountant: String
    /// Total (epsilon, delta) over everything published; nil when DP is off.
    public var epsilon: Double?
    public var delta: Double?
    public var clipNorm: Double
    /// Gaussian noise standard deviation divided by sensitivity, per released quantity.
    public var noiseMultipliers: [DPRelease: Double]
    public var minClusterSize: Int
    public var iterations: Int
    /// What one unit of privacy is; always `"document"` in this version.
    public var unit: String

    public init(enabled: Bool, mechanism: String, accountant: String, epsilon: Double?, delta: Double?,
                clipNorm: Double, noiseMultipliers: [DPRelease: Double], minClusterSize: Int, iterations: Int,
                unit: String = "document") {
        self.enabled = enabled
        self.mechanism = mechanism
        self.accountant = accountant
        self.epsilon = epsilon
        self.delta = delta
        self.clipNorm = clipNorm
        self.noiseMultipliers = noiseMultipliers
        self.minClusterSize = minClusterSize
        self.iterations = iterations
        self.unit = unit
    }

    public var json: JSONValue {
        .object([
            ("enabled", .bool(enabled)),
            ("mechanism", .string(mechanism)),
            ("accountant", .string(accountant)),
            ("epsilon", epsilon.map { .double($0) } ?? .null),
            ("delta", delta.map { .double($0) } ?? .null),
            ("clipNorm", .double(clipNorm)),
            ("noiseMultipliers", .object(noiseMultipliers.keys.sorted().map { ($0.rawValue, .double(noiseMultipliers[$0]!)) })),
            ("minClusterSize", .int(minClusterSize)),
            ("iterations", .int(iterations)),
            ("unit", .string(unit)),
        ])
    }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        enabled = try r.bool("enabled")
        mechanism = try r.label("mechanism")
        accountant = try r.label("accountant")
        epsilon = try r.optionalDouble("epsilon")
        delta = try r.optionalDouble("delta")
        clipNorm = try r.double("clipNorm")
        let nmValue = try r.value("noiseMultipliers")
        var nm = try JSONObjectReader(nmValue, path: "\(path).noiseMultipliers")
        var multipliers = [DPRelease: Double]()
        if case let .object(members) = nmValue {
            for (k, _) in members {
                guard let release = DPRelease(rawValue: k) else {
                    throw JSONSchemaError(path: "\(path).noiseMultipliers.\(k)", problem: "is not a released quantity (\(DPRelease.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                multipliers[release] = try nm.double(k)
            }
        }
        try nm.finish()
        noiseMultipliers = multipliers
        minClusterSize = try r.int("minClusterSize", in: 1...Int(Int32.max))
        iterations = try r.int("iterations", in: 0...10_000)
        unit = try r.label("unit")
        try r.finish()
        if enabled {
            guard (epsilon ?? 0) > 0, let d = delta, d > 0, d < 1 else {
                throw JSONSchemaError(path: path, problem: "with DP enabled, epsilon must be > 0 and 0 < delta < 1")
            }
        }
        guard unit == "document" else { throw JSONSchemaError(path: "\(path).unit", problem: "must be \"document\"") }
        guard clipNorm > 0 else { throw JSONSchemaError(path: "\(path).clipNorm", problem: "must be positive") }
    }
}

/// What training did, as the owner reports it.
public struct TrainingSummary: Equatable, Sendable {
    public var recipe: String
    public var steps: Int
    public var tokens: Int
    public var batchSize: Int
    public var contextLength: Int
    public var learningRate: Double
    public var seed: Int
    public var finalLoss: Double
    /// DP-SGD, when the expert was trained with it.
    public var privacy: TrainingPrivacy?

    public init(recipe: String, steps: Int, tokens: Int, batchSize: Int, contextLength: Int,
                learningRate: Double, seed: Int, finalLoss: Double, privacy: TrainingPrivacy? = nil) {
        self.recipe = recipe
        self.steps = steps
        self.tokens = tokens
        self.batchSize = batchSize
        self.contextLength = contextLength
        self.learningRate = learningRate
        self.seed = seed
        self.finalLoss = finalLoss
        self.privacy = privacy
    }

    public var json: JSONValue {
        .object([
            ("recipe", .string(recipe)),
            ("steps", .int(steps)),
            ("tokens", .int(tokens)),
            ("batchSize", .int(batchSize)),
            ("contextLength", .int(contextLength)),
            ("learningRate", .double(learningRate)),
            ("seed", .int(seed)),
            ("finalLoss", .double(finalLoss)),
        ] + (privacy.map { [("privacy", $0.json)] } ?? []))
    }

    public init(json: JSONValue, path: String) throws(JSONSchemaError) {
        var r = try JSONObjectReader(json, path: path)
        recipe = try r.label("recipe")
        steps = try r.int("steps")
        tokens = try r.int("tokens")
        batchSize = try r.int("batchSize")
        contextLength = try r.int("contextLength")
        learningRate = try r.double("learningRate")
        seed = try r.int("seed")
        finalLoss = try r.double("finalLoss")
        privacy = try r.optionalValue("privacy").map { v throws(JSONSchemaError) in try TrainingPrivacy(json: v, path: "\(path).privacy") }
        try r.finish()
    }
}

/// A log origin (C2SP tlog-checkpoint): the name of one deployment's log, e.g. `example.com/tributary`.
/// Statements and signed requests carry it so material signed for one deployment is refused by another.
public enum LogOrigin {
    public static func isValid(_ origin: String) -> Bool {
        !origin.isEmpty && origin.utf8.count <= 255 && origin.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}
