import Foundation
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting

/// A staged upload that passed every check, with what committing it needs.
public struct VerifiedUpload: Sendable {
    public let bundle: VerifiedContribution
    public let key: KeyRecord
    public let envelopeBytes: [UInt8]
    public let statementSHA256: String
    public let signature: RoutingSignature
    public let probeBitsPerByte: Double
}

/// The server's verification pipeline, in the order protocol/SPEC.md §11.2 fixes: envelope signature;
/// key enrolled and unrevoked; statement schema; file digests; safetensors validity; anchor; shapes;
/// finite values; norm bound; privacy policy; harmful-expert probe; duplicates. The first failure is
/// the answer; nothing is stored before all pass.
public struct ContributionVerifier: Sendable {
    public let anchor: AnchorDirectory
    public let policy: ContributionPolicy
    public let probe: ExpertProbe

    public func verify(stage: String, store: MetadataStore) async throws -> VerifiedUpload {
        // 1. Envelope signature, under the enrolled key its hint names.
        let envelopeBytes = try readSmallFile(stage + "/" + BundleLayout.envelopeFile, limit: DSSEEnvelope.maxEncodedSize)
        let envelope = try DSSEEnvelope.parse(envelopeBytes)
        var key: KeyRecord?
        for s in envelope.signatures {
            let hint = s.keyid.split(separator: "+").last.map(String.init) ?? ""
            if Hex.isLowerHex(hint, byteCount: 4), let k = try await store.key(id: hint) {
                key = k
                break
            }
        }
        guard let key else { throw ContributionError.unknownKey(envelope.signatures.map(\.keyid).joined(separator: ", ")) }
        _ = try ContributionBundle.verifySignature(envelope, keys: [key.verifierKey])
        // 2. Enrolled and not revoked.
        guard key.revokedAt == nil else { throw ContributionError.keyRevoked(key.keyID) }
        // 3–5. Statement schema, digests, safetensors validity and declared layout.
        let bundle = try ContributionBundle.verify(directory: stage, keys: [key.verifierKey])
        let p = bundle.predicate
        // 6. Anchor.
        guard p.anchorSHA256 == anchor.digest else { throw ContributionError.wrongAnchor(expected: anchor.digest, got: p.anchorSHA256) }
        // 7. Shapes against the anchor's config.
        let c = anchor.model.config
        guard p.expert.layers == c.numLayers, p.expert.hiddenSize == c.hiddenSize, p.expert.intermediateSize == c.intermediateSize else {
            throw ContributionError.shapeMismatch("expert is \(p.expert.layers) layers × \(p.expert.hiddenSize) × \(p.expert.intermediateSize), the anchor \(c.numLayers) × \(c.hiddenSize) × \(c.intermediateSize)")
        }
        guard p.routing.layers == c.numLayers, p.routing.dimension == c.hiddenSize else {
            throw ContributionError.shapeMismatch("router rows are \(p.routing.layers) × \(p.routing.dimension), the anchor needs \(c.numLayers) × \(c.hiddenSize)")
        }
        // 8. Finite values everywhere.
        let expertFile = try SafetensorsFile(path: stage + "/" + BundleLayout.expertFile)
        let routingFile = try SafetensorsFile(path: stage + "/" + BundleLayout.routingFile)
        for (file, label) in [(expertFile, BundleLayout.expertFile), (routingFile, BundleLayout.routingFile)] {
            for t in file.tensors where try !file.floats(t).allSatisfy(\.isFinite) {
                throw ContributionError.nonFinite("\(label) tensor \(t.name)")
            }
        }
        let expert = try ExpertWeights(file: expertFile, config: c)
        // 9. Norm bound relative to the anchor's FFN, per layer.
        let anchorFFN = ExpertWeights(denseFFNOf: anchor.model)
        for l in 0..<c.numLayers {
            func norm(_ e: ExpertWeights) -> Double {
                (e.w1[l] + e.w2[l] + e.w3[l]).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            }
            let ratio = norm(expert) / max(norm(anchorFFN), 1e-12)
            guard ratio <= policy.maxNormRatio else { throw ContributionError.normBound(layer: l, ratio: ratio, limit: policy.maxNormRatio) }
        }
        // 10. Privacy policy.
        let pr = p.routing.privacy
        if !pr.enabled {
            guard policy.allowNoDP else { throw ContributionError.privacyPolicy("the routing signature was made without differential privacy (--no-dp)") }
        } else {
            guard let e = pr.epsilon, e <= policy.maxEpsilon else {
                throw ContributionError.privacyPolicy("epsilon \(pr.epsilon ?? .infinity) is above the maximum \(policy.maxEpsilon)")
            }
            guard let d = pr.delta, d <= policy.maxDelta else {
                throw ContributionError.privacyPolicy("delta \(pr.delta ?? 1) is above the maximum \(policy.maxDelta)")
            }
        }
        guard pr.minClusterSize >= policy.minClusterSize else {
            throw ContributionError.privacyPolicy("minimum cluster size \(pr.minClusterSize) is below the required \(policy.minClusterSize)")
        }
        if policy.requireDPRouterRows && p.routing.routerRowSource != .dpMean {
            throw ContributionError.privacyPolicy("router rows are published as trained; this server requires the DP mean (--router-rows dp-mean)")
        }
        let signature = try RoutingSignature.read(stage + "/" + BundleLayout.routingFile)
        // 11. Harmful-expert probe.
        let bpb = try probe.check(anchor: anchor, expert: expert, routerRows: signature.routerRows)
        // 12. Duplicates (checked again inside the commit transaction).
        let statementSHA = Hex.encode(SHA256.digest(bundle.statementBytes))
        if let what = try await store.duplicate(statementSHA256: statementSHA, expertSHA256: bundle.digests[BundleLayout.expertFile]!, nonce: p.nonce) {
            throw ContributionError.duplicate(what)
        }
        return VerifiedUpload(bundle: bundle, key: key, envelopeBytes: envelopeBytes, statementSHA256: statementSHA,
                              signature: signature, probeBitsPerByte: bpb)
    }
}
