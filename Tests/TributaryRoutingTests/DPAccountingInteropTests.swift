import Foundation
import Testing
import TributaryCore
import TributaryTestSupport
@testable import TributaryRouting

/// The privacy plans `train` makes, accounted again by Google's `dp-accounting` (PyPI 0.6.0, installed
/// by scripts/setup.sh): an accountant nobody here wrote. For each plan, the releases and noise
/// multipliers it chose go to dp-accounting's RDP accountant and its PLD accountant (which tracks the
/// exact privacy loss distribution up to a pessimistic discretisation).
@Suite struct DPAccountingInteropTests {
    static let script = """
    import json, sys
    import dp_accounting
    from dp_accounting import pld, rdp
    out = []
    request = json.loads(sys.argv[1])
    for case in request["cases"]:
        events = [dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(z), n) for z, n in case["releases"]]
        event = dp_accounting.ComposedDpEvent(events)
        same = rdp.RdpAccountant(orders=request["orders"]); same.compose(event)
        default = rdp.RdpAccountant(); default.compose(event)
        p = pld.PLDAccountant(value_discretization_interval=1e-4); p.compose(event)
        out.append({"rdp": same.get_epsilon(case["delta"]), "rdpDefaultOrders": default.get_epsilon(case["delta"]),
                    "pld": p.get_epsilon(case["delta"])})
    print(json.dumps(out))
    """

    @Test func plansAreAccountedTheSameByDPAccounting() throws {
        var plans = [PrivacyPlan]()
        for (epsilon, delta) in [(0.25, 1e-6), (0.5, 1e-6), (1.0, 1e-6), (1.0, 1e-5), (4.0, 1e-6)] {
            for (iterations, rows) in [(1, RouterRowSource.trained), (10, .trained), (1, .dpMean)] {
                plans.append(try PrivacyPlan(epsilon: epsilon, delta: delta, releases: DPSchedule.releases(iterations: iterations, routerRows: rows)))
            }
        }
        let cases = JSONValue.object([
            ("orders", .array(RDPAccountant.orders.map { .decimal($0) })),
            ("cases", .array(plans.map { p in
                .object([("delta", .decimal(p.delta)),
                         ("releases", .array(p.releases.map { .array([.decimal($0.noiseMultiplier), .int($0.count)]) }))])
            })),
        ])
        let answer = try runText(try interopPython(), ["-c", Self.script, JSONWriter.string(cases)])
        guard case let .array(results) = try StrictJSONParser.parse(Array(answer.utf8)), results.count == plans.count else {
            Issue.record("dp-accounting answered \(answer)"); return
        }
        for (p, r) in zip(plans, results) {
            let rdp = try #require(r["rdp"]?.doubleValue), pld = try #require(r["pld"]?.doubleValue)
            let label = "ε \(p.targetEpsilon), δ \(p.delta), \(p.releaseCount) releases"
            // The same orders and conversion (Canonne, Kamath & Steinke 2020): the same ε up to
            // floating-point rounding of two implementations of the same sums and logarithms.
            #expect(abs(rdp - p.epsilon) <= 1e-9 * max(1, p.epsilon), "\(label): dp-accounting RDP \(rdp), ours \(p.epsilon)")
            #expect(rdp <= p.targetEpsilon + 1e-9, "\(label): dp-accounting RDP \(rdp) misses the target")
            // PLD is the exact loss distribution up to a pessimistic 1e-4 grid: within 1% of our exact figure.
            #expect(abs(pld - p.exactEpsilon) < 0.01 * p.exactEpsilon + 1e-3, "\(label): dp-accounting PLD \(pld), our exact \(p.exactEpsilon)")
        }
        // For the record: dp-accounting's own (denser, but without 96) orders, and its PLD figure.
        print(plans.indices.map { String(format: "ε %.2f δ %.0e %d releases: ours RDP %.4f exact %.4f; dp-accounting RDP %.4f (its default orders %.4f) PLD %.4f",
                                         plans[$0].targetEpsilon, plans[$0].delta, plans[$0].releaseCount, plans[$0].epsilon, plans[$0].exactEpsilon,
                                         results[$0]["rdp"]?.doubleValue ?? .nan, results[$0]["rdpDefaultOrders"]?.doubleValue ?? .nan,
                                         results[$0]["pld"]?.doubleValue ?? .nan) }.joined(separator: "\n"))
    }
}
