import Foundation
import TributaryCore
import TributaryLog

/// Re-runs a release's router tuning from what it logged (protocol/SPEC.md §11.12): model code the
/// command line passes in, as it does `ReleaseRebuild`. Given the manifest, the anchor directory, the
/// experts' bundle files (manifest order) and the release's router-tuning record, returns the rows
/// the recipe produces from the untuned release, per contributed expert [S * H] over the expert layers.
public struct RouterTuningReplay: Sendable {
    public typealias Replay = @Sendable (_ manifest: ReleaseManifest, _ anchor: String, _ experts: [(expert: String, routing: String)],
                                         _ record: String) throws -> [[Float]]
    public let replay: Replay
    public init(replay: @escaping Replay) { self.replay = replay }

    /// How far a replayed row may be from the published one: ‖replayed − published‖ / ‖published‖ per
    /// row (one expert, one layer). A replay on another CPU sums in another order (other OpenBLAS
    /// kernels) and Adam can turn a last-bit difference in a near-zero gradient component into a step;
    /// measured 5.9e-8 between OpenBLAS's Prescott and Sandybridge kernels on the test model
    /// (`RouterTuningReleaseTests`) and on SmolLM2 in benchmarks/README.md ("Router tuning"). A tenth of
    /// a percent leaves room for longer recipes while a row moved on purpose (10% in the test) fails.
    public static let tolerance = 1e-3
}

/// The tuned rows of a release against its record, its recipe's bound and (unless skipped) a replay.
enum RouterTuningCheck {
    /// The record's rows, [E-1][S * H]; throws when their shape is not the release's.
    static func recordRows(_ path: String, experts: Int, layers: Int, hidden C: Int) throws -> [[Float]] {
        let f = try SafetensorsFile(path: path)
        let info = try f.info("router_rows")
        guard info.shape == [experts, layers, C] else {
            throw TributaryError("audit.router_tuning", "\(ReleaseLayout.routerTuningFile): router_rows has shape \(info.shape), the release needs [\(experts), \(layers), \(C)]")
        }
        let all = try f.floats(info)
        return (0..<experts).map { Array(all[$0 * layers * C..<($0 + 1) * layers * C]) }
    }

    /// The largest relative distance between two row sets, row by row.
    static func largestRelativeDistance(_ a: [[Float]], _ b: [[Float]], hidden C: Int) -> Double {
        var worst = 0.0
        for (x, y) in zip(a, b) {
            for r in 0..<(min(x.count, y.count) / C) {
                var d = 0.0, n = 0.0
                for i in r * C..<(r + 1) * C {
                    d += Double(x[i] - y[i]) * Double(x[i] - y[i])
                    n += Double(y[i]) * Double(y[i])
                }
                worst = max(worst, (d / max(n, 1e-30)).squareRoot())
            }
        }
        return worst
    }
}

extension ReleaseVerifier {
    /// For a tuned release: the released rows are the record's (bit for bit), each within the recipe's
    /// bound on its norm against the anchor's row, and the recipe replayed from the record's token ids
    /// gives them within `RouterTuningReplay.tolerance` (unless the auditor skips the replay).
    func checkRouterTuning(_ m: ReleaseManifest, release dir: String, released: [[Float]], anchorRows: [Float], expertLayers: [Int], hidden C: Int,
                           anchor anchorDir: String, experts: [(expert: String, routing: String)], report: inout AuditReport) {
        guard let recipe = m.routerTuning else { return }
        let n = m.release, record = dir + "/" + ReleaseLayout.routerTuningFile
        do {
            let rows = try RouterTuningCheck.recordRows(record, experts: m.experts.count, layers: expertLayers.count, hidden: C)
            guard rows.map({ $0.map(\.bitPattern) }) == released.map({ $0.map(\.bitPattern) }) else {
                return report.fail("audit.router_tuning", "release \(n)'s contributed router rows are not those its router-tuning record logs")
            }
            for (e, r) in rows.enumerated() {
                for (i, l) in expertLayers.enumerated() {
                    let norm = { (v: ArraySlice<Float>) in v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                    let limit = Double(recipe.maxRowRatio) * norm(anchorRows[l * C..<(l + 1) * C])
                    // The tuning scales a row to the bound exactly: a rounding's worth above is the bound.
                    guard norm(r[i * C..<(i + 1) * C]) <= limit * (1 + 1e-5) else {
                        return report.fail("audit.router_tuning", "release \(n): tuned router row of expert \(e + 1), layer \(l), is beyond \(recipe.maxRowRatio) times the anchor's")
                    }
                }
            }
            guard let replay = tuningReplay else {
                return report.check("release \(n): router tuning not replayed (--skip-router-replay); its rows are the record's and within the recipe's bound")
            }
            let replayed = try replay.replay(m, anchorDir, experts, record)
            let distance = RouterTuningCheck.largestRelativeDistance(replayed, rows, hidden: C)
            guard replayed.count == rows.count, distance <= RouterTuningReplay.tolerance else {
                return report.fail("audit.router_tuning", String(format: "release %d: the router tuning replayed from its record gives rows %.3g away from the published ones (relative, at most %.3g)", n, distance, RouterTuningReplay.tolerance))
            }
            report.check(String(format: "release %d: router tuning replayed from its logged token ids (%d steps): rows within %.2g of the published ones (tolerance %.2g)", n, recipe.steps, distance, RouterTuningReplay.tolerance))
        } catch {
            report.fail("audit.router_tuning", "release \(n)'s router tuning: \(error)")
        }
    }
}
