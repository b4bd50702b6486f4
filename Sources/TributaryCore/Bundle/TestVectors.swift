import Foundation

/// Generates the files under `protocol/test-vectors/` from fixed seeds, so any implementation can
/// reproduce them byte for byte and the tests can check we still do.
public enum TestVectors {
    public static let keyName = "test-org"
    /// The seed of the test key: SHA-256 of this ASCII string.
    public static let keySeedLabel = "tributary test vector key seed"
    public static let createdAt = "2026-01-01T00:00:00Z"
    public static let nonceLabel = "tributary test vector nonce"
    public static let anchorLabel = "tributary test vector anchor"
    public static let layers = 2, hidden = 4, intermediate = 8, centroids = 2
    /// The anchor's signature space the bundle's centroids are in (§6.1): layer 1, 2 dimensions.
    public static let space = SignatureSpaceParameters(layer: 1, dimension: 2)

    /// The DSSE specification's PAE example (`protocol.md`).
    public static let dsseSpecExample = (type: "http://example.com/HelloWorld", body: "hello world",
                                         pae: "DSSEv1 29 http://example.com/HelloWorld 11 hello world")

    public static func signingKey() throws -> SigningKey {
        var seed = SHA256.digest(Array(keySeedLabel.utf8))
        defer { secureZero(&seed) }
        return try SigningKey(name: keyName, seed: seed)
    }

    /// Exactly representable values, so every platform writes the same bytes.
    static func value(_ i: Int, _ salt: Int) -> Float { Float((i * 37 + salt * 11) % 101 - 50) / 256 }

    public static func trainingSummary() -> TrainingSummary {
        TrainingSummary(recipe: "flexolmo-v1", steps: 10, tokens: 40960, batchSize: 32, contextLength: 128,
                        learningRate: 0.001, seed: 1, finalLoss: 2.5)
    }

    public static func routingParameters() -> RoutingParameters {
        RoutingParameters(centroids: centroids, dimension: hidden, layers: layers, routerRowSource: .dpMean,
                          privacy: PrivacyParameters(enabled: true, mechanism: "analytic-gaussian", accountant: "rdp",
                                                     epsilon: 1, delta: 1e-6, clipNorm: 1,
                                                     noiseMultipliers: [.centroidCounts: 8, .centroidSums: 8, .routerRows: 4],
                                                     minClusterSize: 32, iterations: 5),
                          space: space)
    }

    /// Writes the unsigned tiny bundle (the two safetensors files) into `directory`.
    public static func writeUnsignedBundle(to directory: String) throws {
        var expert = SafetensorsWriter(metadata: [
            BundleLayout.anchorMetadataKey: Hex.encode(SHA256.digest(Array(anchorLabel.utf8))),
            BundleLayout.trainingMetadataKey: JSONWriter.string(trainingSummary().json),
        ])
        for l in 0..<layers {
            expert.add(TensorNames.bundleW1(l), shape: [intermediate, hidden], values: (0..<intermediate * hidden).map { value($0, 3 * l) })
            expert.add(TensorNames.bundleW2(l), shape: [hidden, intermediate], values: (0..<intermediate * hidden).map { value($0, 3 * l + 1) })
            expert.add(TensorNames.bundleW3(l), shape: [intermediate, hidden], values: (0..<intermediate * hidden).map { value($0, 3 * l + 2) })
        }
        try expert.write(to: directory + "/" + BundleLayout.expertFile)
        var routing = SafetensorsWriter(metadata: [BundleLayout.routingMetadataKey: JSONWriter.string(routingParameters().json)])
        routing.add(TensorNames.centroids, shape: [centroids, space.dimension], values: (0..<centroids * space.dimension).map { value($0, 90) })
        routing.add(TensorNames.centroidCounts, shape: [centroids], values: [40, 37.5])
        routing.add(TensorNames.routerRows, shape: [layers, hidden], values: (0..<layers * hidden).map { value($0, 91) })
        try routing.write(to: directory + "/" + BundleLayout.routingFile)
    }

    /// The log origin the test bundle is signed for.
    public static let origin = "tributary.test/log"

    /// Writes every vector into `directory`: keys, the signed bundle under `bundle/`, PAE bytes, digests.
    public static func write(to directory: String) throws {
        let fm = FileManager.default
        let bundle = directory + "/bundle"
        try fm.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        let key = try signingKey()
        try writeUnsignedBundle(to: bundle)
        let verified = try ContributionBundle.sign(directory: bundle, key: key, origin: origin, createdAt: createdAt,
                                                   nonce: SHA256.digest(Array(nonceLabel.utf8)))
        try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: directory + "/key.pub")
        try AtomicFileWriter.write(Array((key.encodedPrivateKey() + "\n").utf8), to: directory + "/key.private")
        try AtomicFileWriter.write(preAuthEncoding(payloadType: DSSEEnvelope.inTotoPayloadType, payload: verified.statementBytes),
                                   to: directory + "/statement.pae")
        try AtomicFileWriter.write(Array(dsseSpecExample.pae.utf8), to: directory + "/dsse-spec-example.pae")
        let digests = JSONValue.object(BundleLayout.subjectFiles.map { ($0, .string(verified.digests[$0]!)) })
        try AtomicFileWriter.write(JSONWriter.serialize(digests) + [0x0a], to: directory + "/digests.json")
    }

    /// Relative paths of every file `write(to:)` produces.
    public static let files = ["key.pub", "key.private", "statement.pae", "dsse-spec-example.pae", "digests.json",
                               "bundle/expert.safetensors", "bundle/routing.safetensors",
                               "bundle/statement.json", "bundle/envelope.json"]
}

