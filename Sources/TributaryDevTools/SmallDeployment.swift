import Foundation
import TributaryContribution
import TributaryCore
import TributaryModel
import TributaryRouting
import TributaryHarness

/// A tiny anchor trained on the demo's public text, a probe, an operator key and, per organisation, a
/// key and an unsigned bundle trained for a few steps on one demo domain. Real in every part, small
/// enough that a server verifies a contribution in milliseconds: what the server tests, the fault
/// drill and the load test run against.
public struct SmallDeployment: Sendable {
    public struct Organisation: Sendable {
        public let name: String
        public let domain: String
        public let key: SigningKey
        /// expert.safetensors and routing.safetensors, unsigned: copy before signing.
        public let unsignedBundle: String
    }

    public let work: String
    public let anchor: String
    public let probe: [String]
    public let publicText: String
    public let operatorKey: SigningKey
    public let organisations: [String: Organisation]

    public static let config = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 64)

    public static func trainingOptions(steps: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps
        o.batchSize = 8
        o.seqLen = 64
        o.learningRate = 3e-3
        o.warmupSteps = 3
        o.checkpointEvery = 0
        return o
    }

    /// Builds everything under `work` (corpora included); `organisations` pairs names with demo domains;
    /// the organisations in `lora` train a LoRA expert of those parameters instead of a full one.
    public static func build(work: String, organisations: [(name: String, domain: String)],
                             lora: [String: LoRAParameters] = [:]) throws -> SmallDeployment {
        try DemoCorpora(documentsPerDomain: 120, bytesPerDocument: 3000, publicBytes: 400_000).prepare(workdir: work)
        let publicDir = DemoCorpora.directory(work, DemoCorpora.publicDomain)
        let (pubTrain, pubHeld) = try Corpus.load(paths: [publicDir]).split(heldOutFraction: 0.2)
        _ = try AnchorTraining.train(config: config, train: pubTrain, heldOut: nil, options: trainingOptions(steps: 80), clusters: 4,
                                     out: work + "/anchor", restart: false, progress: nil)
        try FileManager.default.createDirectory(atPath: work + "/probe", withIntermediateDirectories: true)
        for (i, d) in pubHeld.documents.prefix(6).enumerated() { try AtomicFileWriter.write(d.bytes, to: work + "/probe/\(i).txt") }
        let anchor = try AnchorDirectory.load(work + "/anchor")
        var orgs = [String: Organisation]()
        var bundles = [String: String]()  // one trained bundle per domain and kind, shared by its organisations
        for (name, domain) in organisations {
            let kind = lora[name].map { "lora-r\($0.rank)" } ?? "full", key = domain + "-" + kind
            if bundles[key] == nil {
                let data = try Corpus.load(paths: [DemoCorpora.directory(work, domain)])
                var sig = SignatureOptions()
                sig.epsilon = 4
                sig.clusters = 1
                var noise = SeededNoise(seed: 7)
                bundles[key] = try ContributionPipeline.train(anchor: anchor, data: data, publicText: pubTrain, lora: lora[name],
                                                              training: trainingOptions(steps: 12), signature: sig, out: work + "/expert-\(key)",
                                                              restart: false, progress: nil, noise: &noise).bundle
            }
            orgs[name] = Organisation(name: name, domain: domain, key: try SigningKey.generate(name: name), unsignedBundle: bundles[key]!)
        }
        return SmallDeployment(work: work, anchor: work + "/anchor", probe: [work + "/probe"], publicText: publicDir,
                               operatorKey: try SigningKey.generate(name: "operator"), organisations: orgs)
    }

    /// A fresh copy of an organisation's bundle in `directory`, optionally altered, signed by `signer`
    /// (default: the organisation's key) for the deployment whose log origin is `origin`.
    @discardableResult
    public func signedBundle(_ org: String, in directory: String, origin: String, signer: SigningKey? = nil,
                             mutate: ((String) throws -> Void)? = nil) throws -> VerifiedContribution {
        guard let o = organisations[org] else { throw TributaryError("deployment.unknown_org", "no organisation \(org)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for f in BundleLayout.subjectFiles { try FileManager.default.copyItem(atPath: o.unsignedBundle + "/" + f, toPath: directory + "/" + f) }
        try mutate?(directory)
        return try ContributionBundle.sign(directory: directory, key: signer ?? o.key, origin: origin)
    }
}
