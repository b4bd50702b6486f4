import Foundation
import TributaryCore
import TributaryLog

/// Checks one release against public material, bit for bit: its files against the signed manifest,
/// the anchor against its digest, every contributed file against its logged digest, and every tensor
/// of the combined model against the anchor's or the contribution's it must come from.
struct ReleaseVerifier {
    let source: LogSource
    let work: String
    /// Rebuilds releases whose files the server pruned (`--rebuild-pruned`); nil reports them pruned.
    var rebuild: ReleaseRebuild?
    /// Replays tuned releases' router tuning; nil (`--skip-router-replay`) checks only the record and bounds.
    var tuningReplay: RouterTuningReplay?

    /// Release `n`'s manifest as served, if it hashes to the digest its log entry records and carries
    /// the log key's signature.
    func manifest(_ n: Int, _ release: LogReplay.Release, logKey: VerifierKey, report: inout AuditReport) async -> ReleaseManifest? {
        let path = work + "/manifest-\(n).json"
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: path) }
            try await source.fetch("release/\(n)/\(ReleaseLayout.manifestFile)", to: path)
            let bytes = try readSmallFile(path, limit: 1 << 20)
            guard Hex.encode(SHA256.digest(bytes)) == release.manifestSHA256 else {
                report.fail("audit.release_manifest_mismatch", "release \(n)'s served manifest.json does not hash to the digest its log entry records", entry: release.index)
                return nil
            }
            let m = try ReleaseManifest.verify(bytes, key: logKey)
            guard m.release == n else {
                report.fail("audit.release_order", "release entry \(n)'s manifest says release \(m.release)", entry: release.index)
                return nil
            }
            return m
        } catch {
            report.fail("audit.bad_release", "release \(n)'s manifest: \(error)", entry: release.index)
            return nil
        }
    }

    /// The release's `model.sig` (OpenSSF model signing) verifies under `key` and signs exactly the files
    /// of the release: its manifest (the digest the log records) and the files the manifest names (their
    /// digests, which `verify` checks against the files themselves). Needs no model file, so it holds
    /// for pruned releases too.
    func checkModelSignature(_ m: ReleaseManifest, _ release: LogReplay.Release, key: P256PublicKey, report: inout AuditReport) async {
        let n = m.release, path = work + "/model-\(n).sig"
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                try await source.fetch("release/\(n)/\(ReleaseLayout.modelSignatureFile)", to: path)
            } catch {
                return report.fail("audit.model_signature_missing", "release \(n) has no \(ReleaseLayout.modelSignatureFile) to check under the release key: \(error)", entry: release.index)
            }
            let signed = try ModelSigningSignature.verify(bundle: try readSmallFile(path, limit: 1 << 20), key: key)
            try signed.check(m.files.merging([ReleaseLayout.manifestFile: release.manifestSHA256]) { a, _ in a })
        } catch {
            report.fail("audit.model_signature_invalid", "release \(n)'s \(ReleaseLayout.modelSignatureFile): \(error)", entry: release.index)
        }
    }

    /// `policies`: the policy in force when each contribution was accepted, by log index.
    func verify(_ m: ReleaseManifest, policies: [UInt64: ContributionPolicy], report: inout AuditReport) async {
        let n = m.release, dir = work + "/release-\(n)"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (anchorDir, experts) = try await ReleaseRebuild.inputs(m, source: source, work: dir)
            var rebuilt = false
            do {
                for name in ReleaseLayout.digestedFiles where m.files[name] != nil {
                    try await source.fetch("release/\(n)/\(name)", to: dir + "/" + name)
                    let got = Hex.encode(try SHA256.digest(fileAt: dir + "/" + name).digest)
                    guard got == m.files[name] else {
                        return report.fail("audit.release_file_mismatch", "release \(n)'s \(name) has SHA-256 \(got.prefix(16))…, the manifest says \((m.files[name] ?? "nothing").prefix(16))…")
                    }
                }
            } catch where ReleaseRebuild.isPruned(error) {
                // Pruned by the server: its files are a function of the anchor and the logged bundles.
                guard let rebuild else {
                    return report.check("release \(n) was pruned by the server (its manifest stays): its membership is checked, its files are not (--rebuild-pruned rebuilds and checks them)")
                }
                try await rebuild.rebuild(m, anchor: anchorDir, experts: experts, source: source, into: dir)
                rebuilt = true
            }
            let anchorTokenizer = anchorDir + "/" + ModelFiles.tokenizer
            let anchorTokenizerSHA = FileManager.default.fileExists(atPath: anchorTokenizer) ? Hex.encode(try SHA256.digest(fileAt: anchorTokenizer).digest) : nil
            guard m.files[ModelFiles.tokenizer] == anchorTokenizerSHA else {
                return report.fail("audit.release_file_mismatch", "release \(n)'s tokenizer is not the anchor's")
            }
            try compareTensors(release: dir, manifest: m, anchor: anchorDir, experts: experts, policies: policies, report: &report)
            if rebuilt { report.check("release \(n) was pruned by the server: rebuilt from the anchor and the logged bundles, every file bit-identical to its signed manifest") }
            report.releasesVerifiedDeeply.append(n)
        } catch let e as TributaryError where e.code == "audit.anchor_mismatch" || e.code == "audit.blob_mismatch" || e.code == "release.rebuild_mismatch" {
            report.fail(e.code == "release.rebuild_mismatch" ? "audit.release_file_mismatch" : e.code, "release \(n): \(e.message)")
        } catch {
            report.fail("audit.release_unavailable", "release \(n) could not be checked: \(error)")
        }
    }

    func compareTensors(release dir: String, manifest m: ReleaseManifest, anchor anchorDir: String, experts: [(expert: String, routing: String)],
                        policies: [UInt64: ContributionPolicy], report: inout AuditReport) throws {
        let model = try SafetensorsFile(path: dir + "/model.safetensors")
        let anchor = try SafetensorsFile(path: dir + "/anchor/" + ModelFiles.weights)
        let anchorRouting = try SafetensorsFile(path: dir + "/anchor/" + AnchorLayout.routingFile)
        let config = try StrictJSONParser.parse(try readSmallFile(dir + "/config.json", limit: 1 << 20))
        guard config["num_local_experts"] == .int(m.experts.count + 1), config["num_experts_per_tok"] == .int(m.expertsPerToken) else {
            return report.fail("audit.release_config", "release \(m.release)'s config.json does not declare \(m.experts.count + 1) experts, \(m.expertsPerToken) per token")
        }
        // Untrusted numbers: bounded before any loop or product uses them.
        guard let L = config["num_hidden_layers"]?.intValue, (1...ModelBounds.maxLayers).contains(L), let C = config["hidden_size"]?.intValue, (1...ModelBounds.maxHidden).contains(C) else {
            return report.fail("audit.release_config", "release \(m.release)'s config.json lacks its dimensions or gives impossible ones")
        }
        // Which layers hold experts: ModelFiles.expertLayersKey, else every layer.
        var expertLayers = Array(0..<L)
        if let v = config[ModelFiles.expertLayersKey], v != .null {
            guard let a = v.arrayValue, a.count <= L, case let l = a.compactMap(\.intValue), l.count == a.count,
                  ModelFiles.isExpertLayerSet(l, numLayers: L) else {
                return report.fail("audit.release_config", "release \(m.release)'s \(ModelFiles.expertLayersKey) is not a set of its layers")
            }
            expertLayers = l
        }
        let moe = Set(expertLayers), E = m.experts.count + 1
        var compared = 0
        func same(_ a: SafetensorsFile, _ an: String, _ b: SafetensorsFile, _ bn: String, row: (index: Int, width: Int)? = nil) throws -> Bool {
            compared += 1
            let x = try a.floats(an), y = try b.floats(bn)
            if let row {
                guard (row.index + 1) * row.width <= x.count else { return false }
                return Array(x[row.index * row.width..<(row.index + 1) * row.width]).map(\.bitPattern) == y.map(\.bitPattern)
            }
            return x.map(\.bitPattern) == y.map(\.bitPattern)
        }
        // Exactly the tensors a release of these experts has: nothing extra to hide behaviour in.
        var expected = Set<String>()
        // Shared weights and expert 0 (in layers without experts: every expert) are the anchor's.
        for t in anchor.tensors {
            for releaseName in TensorNames.releaseNames(ofAnchorTensor: t.name, expertLayers: moe, experts: E) {
                expected.insert(releaseName)
                guard try same(model, releaseName, anchor, t.name) else {
                    report.fail("audit.release_tensor_mismatch", "release \(m.release): \(releaseName) is not the anchor's \(t.name)")
                    continue
                }
            }
        }
        for l in 0..<L where !moe.contains(l) {
            // A layer without experts routes over identical copies: its router is written as zeros.
            expected.insert(TensorNames.router(l))
            if try !model.floats(TensorNames.router(l)).allSatisfy({ $0 == 0 }) {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): the router of layer \(l), which has no experts, is not zero")
            }
            compared += 1
        }
        let anchorRows = try anchorRouting.floats(TensorNames.routerRows)
        guard anchorRows.count == L * C else {
            return report.fail("audit.release_tensor_mismatch", "the anchor's router rows do not cover its \(L) layers")
        }
        let contributed = try experts.map { (try SafetensorsFile(path: $0.expert), try SafetensorsFile(path: $0.routing)) }
        // Each expert's layout (full or LoRA), exactly its tensors, over exactly the release's expert layers.
        var layouts = [ExpertLayout?]()
        for (i, (expert, _)) in contributed.enumerated() {
            let layout = try? BundleLayout.expertLayout(of: expert.header)
            layouts.append(layout?.layers == expertLayers && layout?.hiddenSize == C ? layout : nil)
            if layouts[i] == nil {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): contribution \(m.experts[i].contribution)'s expert does not cover exactly the release's expert layers")
            }
        }
        // A tuned release's contributed rows are checked against its tuning record instead (below).
        var releasedRows = [[Float]](repeating: [], count: E - 1)
        for l in expertLayers {
            let gate = TensorNames.router(l)
            expected.insert(gate)
            // The router's shape is the release's claim too: checked before any row is sliced from it.
            let g = try model.floats(gate)
            guard try model.info(gate).shape == [E, C], g.count == E * C else {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): the router of layer \(l) is not \(E) × \(C)")
                continue
            }
            if g[0..<C].map(\.bitPattern) != anchorRows[l * C..<(l + 1) * C].map(\.bitPattern) {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): router row 0 of layer \(l) is not the anchor's")
            }
            compared += 1
            for (i, (expert, routing)) in contributed.enumerated() {
                let e = i + 1, c = m.experts[i].contribution
                for (w, released) in [("w1", TensorNames.expertW1(l, e)), ("w2", TensorNames.expertW2(l, e)), ("w3", TensorNames.expertW3(l, e))] {
                    expected.insert(released)
                    guard let layout = layouts[i] else { continue }
                    compared += 1
                    let want = try Self.expectedExpertTensor(layer: l, projection: w, expert: expert, layout: layout, anchor: anchor)
                    if try want.map({ $0.map(\.bitPattern) != (try model.floats(released)).map(\.bitPattern) }) ?? true {
                        report.fail("audit.release_tensor_mismatch", "release \(m.release): expert \(e) (contribution \(c)) layer \(l) \(w) differs from the contributed \(layout.lora == nil ? "tensor" : "LoRA update materialised on the anchor's FFN")")
                    }
                }
                let rows = try routing.floats(TensorNames.routerRows)
                if m.routerTuning != nil {
                    releasedRows[i] += g[e * C..<(e + 1) * C]
                } else if rows.count != L * C || g[e * C..<(e + 1) * C].map(\.bitPattern) != rows[l * C..<(l + 1) * C].map(\.bitPattern) {
                    report.fail("audit.release_tensor_mismatch", "release \(m.release): router row \(e) of layer \(l) differs from contribution \(c)'s")
                }
                compared += 1
            }
        }
        checkRouterTuning(m, release: dir, released: releasedRows, anchorRows: anchorRows, expertLayers: expertLayers, hidden: C,
                          anchor: anchorDir, experts: experts, report: &report)
        let extra = Set(model.tensors.map(\.name)).subtracting(expected)
        if !extra.isEmpty {
            report.fail("audit.release_tensor_mismatch", "release \(m.release) holds tensors no anchor or contribution accounts for: \(extra.sorted().prefix(5).joined(separator: ", "))")
        }
        // The routing index carries exactly the published centroids and the anchor's signature space.
        let index = try SafetensorsFile(path: dir + "/routing-index.safetensors")
        let spaceNames = anchorRouting.tensors.contains { $0.name == TensorNames.signatureProjection }
            ? [TensorNames.signatureCenter, TensorNames.signatureProjection] : [TensorNames.embeddingCenter]
        let sameSpace = try spaceNames.allSatisfy { try same(index, $0, anchorRouting, $0) }
            && index.metadata[TensorNames.signatureSpaceMetadataKey] == anchorRouting.metadata[TensorNames.signatureSpaceMetadataKey]
        let sameAnchorEntry = try same(index, TensorNames.indexCentroids(0), anchorRouting, TensorNames.centroids)
        if !sameSpace || !sameAnchorEntry {
            report.fail("audit.release_tensor_mismatch", "release \(m.release): the routing index's signature space or anchor entry is not the anchor's")
        }
        if try !same(index, TensorNames.indexCounts(0), anchorRouting, TensorNames.centroidCounts) {
            report.fail("audit.release_tensor_mismatch", "release \(m.release): the routing index's anchor counts are not the anchor's")
        }
        for (i, files) in experts.enumerated() {
            let routing = try SafetensorsFile(path: files.routing)
            // The routing bounds of the policy it was accepted under, as the server checked them.
            if let policy = policies[m.experts[i].contribution] {
                do {
                    let noise = try RoutingParameters(file: routing, path: files.routing).privacy.noiseMultipliers
                    try policy.checkRouting(rows: try routing.floats(TensorNames.routerRows), anchorRows: anchorRows, expertLayers: expertLayers,
                                            hidden: C, centroids: try routing.floats(TensorNames.centroids),
                                            counts: try routing.floats(TensorNames.centroidCounts),
                                            centroidDimension: try routing.info(TensorNames.centroids).shape.last ?? C,
                                            sumNoise: noise[.centroidSums], countNoise: noise[.centroidCounts])
                } catch {
                    report.fail("audit.policy_violation", "release \(m.release): contribution \(m.experts[i].contribution) was accepted beyond the routing bounds of its policy: \(error)")
                }
            }
            if try !same(index, TensorNames.indexCentroids(i + 1), routing, TensorNames.centroids)
                || !same(index, TensorNames.indexCounts(i + 1), routing, TensorNames.centroidCounts) {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): expert \(i + 1)'s centroids or counts differ from contribution \(m.experts[i].contribution)'s")
            }
        }
        // And nothing else: an index entry the router would read but nobody accounts for.
        let indexNames = Set(spaceNames + (0..<E).flatMap { [TensorNames.indexCentroids($0), TensorNames.indexCounts($0)] })
        if Set(index.tensors.map(\.name)) != indexNames {
            report.fail("audit.release_tensor_mismatch", "release \(m.release): the routing index holds other tensors than the \(E) experts' centroids and counts")
        }
        report.tensorsCompared += compared
        report.check("release \(m.release): \(compared) tensors bit-identical to the anchor's and the \(experts.count) contributed experts'")
    }
}
