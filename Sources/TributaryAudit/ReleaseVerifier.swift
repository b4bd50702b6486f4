import Foundation
import TributaryCore
import TributaryLog

/// Checks one release against public material, bit for bit: its files against the signed manifest,
/// the anchor against its digest, every contributed file against its logged digest, and every tensor
/// of the combined model against the anchor's or the contribution's it must come from.
struct ReleaseVerifier {
    let source: LogSource
    let work: String

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

    func verify(_ m: ReleaseManifest, report: inout AuditReport) async {
        let n = m.release, dir = work + "/release-\(n)"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for name in ReleaseLayout.digestedFiles {
                try await source.fetch("release/\(n)/\(name)", to: dir + "/" + name)
                let got = Hex.encode(try SHA256.digest(fileAt: dir + "/" + name).digest)
                guard got == m.files[name] else {
                    return report.fail("audit.release_file_mismatch", "release \(n)'s \(name) has SHA-256 \(got.prefix(16))…, the manifest says \((m.files[name] ?? "nothing").prefix(16))…")
                }
            }
            for name in AnchorLayout.publishedFiles {
                try await source.fetch("anchor/\(name)", to: dir + "/anchor-" + name)
            }
            let anchorSHA = Hex.encode(try SHA256.digest(fileAt: dir + "/anchor-model.safetensors").digest)
            guard anchorSHA == m.anchorSHA256 else {
                return report.fail("audit.anchor_mismatch", "the served anchor has SHA-256 \(anchorSHA.prefix(16))…, release \(n) names \(m.anchorSHA256.prefix(16))…")
            }
            var experts = [(expert: String, routing: String)]()
            for (i, e) in m.experts.enumerated() {
                let ex = dir + "/expert-\(i + 1).safetensors", ro = dir + "/routing-\(i + 1).safetensors"
                for (sha, path) in [(e.expertSHA256, ex), (e.routingSHA256, ro)] {
                    try await source.fetch("blob/\(sha)", to: path)
                    let got = Hex.encode(try SHA256.digest(fileAt: path).digest)
                    guard got == sha else {
                        return report.fail("audit.blob_mismatch", "the blob served for contribution \(e.contribution) has SHA-256 \(got.prefix(16))…, the log says \(sha.prefix(16))…")
                    }
                }
                experts.append((ex, ro))
            }
            try compareTensors(release: dir, manifest: m, experts: experts, report: &report)
            report.releasesVerifiedDeeply.append(n)
        } catch {
            report.fail("audit.release_unavailable", "release \(n) could not be checked: \(error)")
        }
    }

    func compareTensors(release dir: String, manifest m: ReleaseManifest, experts: [(expert: String, routing: String)],
                        report: inout AuditReport) throws {
        let model = try SafetensorsFile(path: dir + "/model.safetensors")
        let anchor = try SafetensorsFile(path: dir + "/anchor-model.safetensors")
        let anchorRouting = try SafetensorsFile(path: dir + "/anchor-routing.safetensors")
        let config = try StrictJSONParser.parse(try readSmallFile(dir + "/config.json", limit: 1 << 20))
        guard config["num_local_experts"] == .int(m.experts.count + 1), config["num_experts_per_tok"] == .int(m.expertsPerToken) else {
            return report.fail("audit.release_config", "release \(m.release)'s config.json does not declare \(m.experts.count + 1) experts, \(m.expertsPerToken) per token")
        }
        // Untrusted numbers: bounded before any loop or product uses them.
        guard let L = config["num_hidden_layers"]?.intValue, (1...4096).contains(L), let C = config["hidden_size"]?.intValue, (1...65536).contains(C) else {
            return report.fail("audit.release_config", "release \(m.release)'s config.json lacks its dimensions or gives impossible ones")
        }
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
        // Shared weights and expert 0 are the anchor's.
        for t in anchor.tensors {
            let releaseName = TensorNames.expertZeroName(ofAnchorTensor: t.name, layers: L)
            guard try same(model, releaseName, anchor, t.name) else {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): \(releaseName) is not the anchor's \(t.name)")
                continue
            }
        }
        let anchorRows = try anchorRouting.floats(TensorNames.routerRows)
        for l in 0..<L {
            let gate = TensorNames.router(l)
            if try model.floats(gate)[0..<C].map(\.bitPattern) != anchorRows[l * C..<(l + 1) * C].map(\.bitPattern) {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): router row 0 of layer \(l) is not the anchor's")
            }
            compared += 1
            for (i, files) in experts.enumerated() {
                let e = i + 1, c = m.experts[i].contribution
                let expert = try SafetensorsFile(path: files.expert), routing = try SafetensorsFile(path: files.routing)
                for (w, released, contributed) in [("w1", TensorNames.expertW1(l, e), TensorNames.bundleW1(l)),
                                                   ("w2", TensorNames.expertW2(l, e), TensorNames.bundleW2(l)),
                                                   ("w3", TensorNames.expertW3(l, e), TensorNames.bundleW3(l))]
                where try !same(model, released, expert, contributed) {
                    report.fail("audit.release_tensor_mismatch", "release \(m.release): expert \(e) (contribution \(c)) layer \(l) \(w) differs from the contributed tensor")
                }
                let rows = try routing.floats(TensorNames.routerRows)
                if try model.floats(gate)[e * C..<(e + 1) * C].map(\.bitPattern) != rows[l * C..<(l + 1) * C].map(\.bitPattern) {
                    report.fail("audit.release_tensor_mismatch", "release \(m.release): router row \(e) of layer \(l) differs from contribution \(c)'s")
                }
                compared += 1
            }
        }
        // The routing index carries exactly the published centroids and the anchor's embedding centre.
        let index = try SafetensorsFile(path: dir + "/routing-index.safetensors")
        if try !same(index, TensorNames.embeddingCenter, anchorRouting, TensorNames.embeddingCenter) || !same(index, TensorNames.indexCentroids(0), anchorRouting, TensorNames.centroids) {
            report.fail("audit.release_tensor_mismatch", "release \(m.release): the routing index's anchor entry is not the anchor's")
        }
        for (i, files) in experts.enumerated() {
            let routing = try SafetensorsFile(path: files.routing)
            if try !same(index, TensorNames.indexCentroids(i + 1), routing, TensorNames.centroids) {
                report.fail("audit.release_tensor_mismatch", "release \(m.release): expert \(i + 1)'s centroids differ from contribution \(m.experts[i].contribution)'s")
            }
        }
        report.tensorsCompared += compared
        report.check("release \(m.release): \(compared) tensors bit-identical to the anchor's and the \(experts.count) contributed experts'")
    }
}
