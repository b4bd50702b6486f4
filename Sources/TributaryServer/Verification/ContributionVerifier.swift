import Foundation
import TributaryContribution
import TributaryAPI
import TributaryCore
import TributaryLog
import TributaryModel
import TributaryRouting

/// What the envelope alone establishes, checked before the rest of an upload is read.
public struct AdmittedUpload: Sendable {
    public let key: EnrolledKey
    public let envelopeBytes: [UInt8]
    public let statementSHA256: String
    public let predicate: ContributionPredicate
}

/// A staged upload that passed every check, with what committing it needs.
public struct VerifiedUpload: Sendable {
    public let bundle: VerifiedContribution
    public let admitted: AdmittedUpload
    public let signature: RoutingSignature
    public let probeBitsPerByte: Double
}

/// The server's verification pipeline, in the order protocol/SPEC.md §11.2 fixes. `admit` runs on the
/// envelope, the first archive entry, before the bulk is read: signature under an enrolled live key,
/// statement schema, deployment (origin), age, anchor, declared shapes, privacy policy and budget,
/// duplicates by statement digest and nonce. `verify` runs on the whole bundle: digests, safetensors
/// validity and declared layout, finite values, norm bound, harmful-expert probe, duplicate weights.
/// The first failure is the answer; nothing is stored before all pass.
public struct ContributionVerifier: Sendable {
    public let anchor: AnchorDirectory
    public let policy: ContributionPolicy
    public let origin: String
    public let probe: ExpertProbe

    public func admit(envelope bytes: [UInt8], store: MetadataStore, now: Int64) async throws -> AdmittedUpload {
        let envelope = try DSSEEnvelope.parse(bytes)
        // 1. The signature, under an enrolled key its hint names (`organisation+keyid`): the first
        // hint whose keys verify the envelope decides (`SignerMatch`).
        var match: SignerMatch<EnrolledKey>?
        var named = [String](), unverified = [String]()
        for s in envelope.signatures {
            let parts = s.keyid.split(separator: "+", maxSplits: 1).map(String.init)
            guard parts.count == 2, Hex.isLowerHex(parts[1], byteCount: 4) else { continue }
            named.append(s.keyid)
            let m = SignerMatch(try await store.keys(organisation: parts[0], keyID: parts[1]), envelope: envelope,
                                verifierKey: \.verifierKey, isLive: \.isLive)
            if m.signer != nil {
                match = m
                break
            }
            if case .noneVerifies = m { unverified.append(s.keyid) }
        }
        guard let match, let key = match.signer else {
            if named.isEmpty { throw ContributionError.unknownKey("(no signature names an organisation and key ID)") }
            if let hint = unverified.first { throw BundleError.signatureInvalid("the signature named \(hint) does not verify under that key") }
            throw ContributionError.unknownKey(named.joined(separator: ", "))
        }
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else { throw BundleError.wrongPayloadType(envelope.payloadType) }
        // 2. Live: not revoked, not retired by a rotation.
        guard case .live = match else { throw ContributionError.keyRevoked(key.keyID) }
        // 3. The statement (the payload), bound to this key.
        let (_, p) = try ContributionBundle.parseStatement(envelope.payload, signer: key.verifierKey)
        // 4. This deployment, and not too old or from the future.
        guard p.origin.sameBytes(origin) else { throw ContributionError.wrongOrigin(expected: origin, got: p.origin) }
        // 5. Anchor and declared shapes.
        guard p.anchorSHA256 == anchor.digest else { throw ContributionError.wrongAnchor(expected: anchor.digest, got: p.anchorSHA256) }
        let c = anchor.model.config
        guard p.expert.layers.last! < c.numLayers, p.expert.hiddenSize == c.hiddenSize, p.expert.intermediateSize == c.intermediateSize else {
            throw ContributionError.shapeMismatch("expert is layers \(ContributionPolicy.describe(p.expert.layers)) × \(p.expert.hiddenSize) × \(p.expert.intermediateSize), the anchor \(c.numLayers) layers × \(c.hiddenSize) × \(c.intermediateSize)")
        }
        guard p.routing.layers == c.numLayers, p.routing.dimension == c.hiddenSize else {
            throw ContributionError.shapeMismatch("router rows are \(p.routing.layers) × \(p.routing.dimension), the anchor needs \(c.numLayers) × \(c.hiddenSize)")
        }
        guard p.routing.space == anchor.space.parameters else {
            func describe(_ s: SignatureSpaceParameters?) -> String { s.map { "layer \($0.layer), \($0.dimension) dimensions" } ?? "the final state (no space)" }
            throw ContributionError.shapeMismatch("the routing signature is in \(describe(p.routing.space)), the anchor's signature space is \(describe(anchor.space.parameters))")
        }
        // 6. The policy in one call (the auditor replays the same): age, expert layers, privacy with ε
        // recomputed from the statement's own noise, and the organisation's budget.
        let spent = try await store.epsilonSpent(organisation: key.organisation)
        do { try policy.check(p, anchorLayers: c.numLayers, now: now, epsilonSpent: spent) } catch { throw ContributionError.from(error) }
        // 7. Already accepted? By statement digest and nonce, before a byte of the weights is read.
        let statementSHA = Hex.encode(SHA256.digest(envelope.payload))
        if let what = try await store.duplicate(statementSHA256: statementSHA, expertSHA256: nil, nonce: p.nonce) {
            throw ContributionError.duplicate(what)
        }
        return AdmittedUpload(key: key, envelopeBytes: bytes, statementSHA256: statementSHA, predicate: p)
    }

    /// The whole staged bundle, after `admit`. The CPU-heavy checks run on `pool`.
    public func verify(stage: String, admitted: AdmittedUpload, store: MetadataStore, pool: ComputePool) async throws -> VerifiedUpload {
        let key = admitted.key.verifierKey
        let (bundle, signature, bpb): (VerifiedContribution, RoutingSignature, Double) = try await pool.run { [self] in
            // 8. Statement file, digests, safetensors validity and declared layout.
            let bundle = try ContributionBundle.verify(directory: stage, keys: [key])
            // The staged envelope is the one admitted (only this request writes the staging directory).
            guard bundle.envelope == (try DSSEEnvelope.parse(admitted.envelopeBytes)) else { throw BundleError.statementMismatch }
            // 9. Finite values everywhere.
            let c = anchor.model.config
            let expertFile = try SafetensorsFile(path: stage + "/" + BundleLayout.expertFile)
            let routingFile = try SafetensorsFile(path: stage + "/" + BundleLayout.routingFile)
            for (file, label) in [(expertFile, BundleLayout.expertFile), (routingFile, BundleLayout.routingFile)] {
                for t in file.tensors where try !file.floats(t).allSatisfy(\.isFinite) {
                    throw ContributionError.nonFinite("\(label) tensor \(t.name)")
                }
            }
            // A LoRA expert as the release will hold it: materialised onto the anchor's FFN.
            let expert = try ExpertWeights(file: expertFile, anchor: anchor.model)
            // 10. Norm bound relative to the anchor's FFN, per layer.
            let anchorFFN = ExpertWeights(denseFFNOf: anchor.model, layers: expert.layers)
            for (i, l) in expert.layers.enumerated() {
                func norm(_ e: ExpertWeights) -> Double {
                    (e.w1[i] + e.w2[i] + e.w3[i]).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                }
                let ratio = norm(expert) / max(norm(anchorFFN), 1e-12)
                guard ratio <= policy.maxNormRatio else { throw ContributionError.normBound(layer: l, ratio: ratio, limit: policy.maxNormRatio) }
            }
            // 11. Router rows and centroids within their bounds (only the weights were, before).
            let signature = try RoutingSignature.read(stage + "/" + BundleLayout.routingFile)
            do {
                try policy.checkRouting(rows: signature.routerRows, anchorRows: anchor.routerRows, expertLayers: expert.layers,
                                        hidden: c.hiddenSize, centroids: signature.centroids, counts: signature.counts,
                                        centroidDimension: signature.centroidDimension,
                                        sumNoise: signature.parameters.privacy.noiseMultipliers[.centroidSums],
                                        countNoise: signature.parameters.privacy.noiseMultipliers[.centroidCounts])
            } catch let v as PolicyViolation { throw ContributionError.from(v) }
            // 12. Harmful-expert probe: the public text's bits per byte, and the share of its tokens the
            // expert's rows take.
            let bpb = try probe.check(anchor: anchor, expert: expert, routerRows: signature.routerRows, maxGateShare: policy.maxProbeGateShare)
            return (bundle, signature, bpb)
        }
        // 13. Duplicate weights (checked again inside the commit transaction).
        if let what = try await store.duplicate(statementSHA256: admitted.statementSHA256,
                                                expertSHA256: bundle.digests[BundleLayout.expertFile], nonce: admitted.predicate.nonce) {
            throw ContributionError.duplicate(what)
        }
        return VerifiedUpload(bundle: bundle, admitted: admitted, signature: signature, probeBitsPerByte: bpb)
    }
}
