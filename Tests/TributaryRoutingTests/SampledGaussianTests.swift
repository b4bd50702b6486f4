import Foundation
import Testing
import TributaryTestSupport
@testable import TributaryCore
import TributaryRouting

/// The Poisson-sampled Gaussian's RDP (DP-SGD's accounting), against its own limits and against
/// Google's `dp-accounting` (PyPI 0.6.0): an implementation nobody here wrote.
@Suite struct SampledGaussianTests {
    @Test func limitsAndBothSeriesAgree() {
        // q = 1 is the plain Gaussian; q = 0 releases nothing.
        for a in [1.5, 2, 7, 32] {
            #expect(abs(SampledGaussian.rdp(q: 1, noiseMultiplier: 1.3, order: a) - a / (2 * 1.3 * 1.3)) < 1e-12)
            #expect(SampledGaussian.rdp(q: 0, noiseMultiplier: 1.3, order: a) == 0)
        }
        // The fractional series holds at integer orders too: both forms give the same A_α.
        for (q, z) in [(0.01, 1.1), (0.2, 0.8), (0.5, 3.0)] {
            for a in [2, 3, 8, 20] {
                let exact = SampledGaussian.logAInteger(q: q, z: z, order: a)
                let series = SampledGaussian.logAFractional(q: q, z: z, order: Double(a))
                // Two summations of the same positive quantity, one with erfc splits: agreement to 1e-9 of A's log.
                #expect(abs(exact - series) <= 1e-9 * max(1, abs(exact)), "q \(q) z \(z) α \(a): \(exact) vs \(series)")
            }
        }
        // Sampling amplifies privacy: at small q the RDP is far below the Gaussian's.
        #expect(SampledGaussian.rdp(q: 0.01, noiseMultiplier: 1, order: 8) < 0.01 * 8 / 2)
    }

    /// dp-accounting's RDP accountant gives the reference at integer orders. At fractional orders its
    /// series sums the binomial terms' absolute values (an upper bound; it gives up after 1,000 terms
    /// at large q), while Mironov et al.'s series, as TF Privacy and Opacus sum it, keeps their signs:
    /// there the reference is the defining integral A_α = E_{x~N(0,z²)}[(1 − q + q·exp((2x − 1)/(2z²)))^α]
    /// by SciPy's adaptive quadrature, and dp-accounting's figure is a bound ours must not exceed.
    static let script = """
    import json, math, sys
    import dp_accounting
    from dp_accounting import rdp
    from scipy import integrate
    def quad_rdp(q, s, a):
        if q == 1: return a / (2 * s * s)
        f = lambda x: math.exp(-x * x / (2 * s * s)) / (s * math.sqrt(2 * math.pi)) * (1 - q + q * math.exp((2 * x - 1) / (2 * s * s))) ** a
        lo, hi = -40 * s, a + 40 * s
        z0 = s * s * math.log(1 / q - 1) + 0.5
        v, _ = integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=1000, points=sorted(p for p in {0, 0.5, a, z0} if lo < p < hi))
        return math.log(v) / (a - 1)
    request = json.loads(sys.argv[1])
    orders = request["orders"]
    out = []
    for case in request["cases"]:
        events = [dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(z)), n)
                  for q, z, n in case["sampled"]]
        events += [dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(z), n) for z, n in case["gaussian"]]
        a = rdp.RdpAccountant(orders=orders); a.compose(dp_accounting.ComposedDpEvent(events))
        theirs = [float(x) if math.isfinite(x) else None for x in a._rdp]
        quad = [None if a_ == int(a_) else sum(n * quad_rdp(q, z, a_) for q, z, n in case["sampled"]) + sum(n * a_ / (2 * z * z) for z, n in case["gaussian"])
                for a_ in orders]
        out.append({"rdp": theirs, "quadrature": quad, "epsilon": a.get_epsilon(case["delta"])})
    print(json.dumps(out))
    """

    /// Published DP-SGD settings and Tributary's own (DP-SGD steps composed with a signature's releases).
    typealias Case = (label: String, sampled: [(q: Double, z: Double, steps: Int)], gaussian: [(z: Double, count: Int)], delta: Double)
    static let published: [Case] = [
        ("TF Privacy MNIST tutorial (256 of 60,000, z 1.1, 60 epochs)", [(256.0 / 60000, 1.1, 14_063)], [], 1e-5),
        ("Abadi et al. 2016, large noise (q 0.01, z 4, 10,000 steps)", [(0.01, 4, 10_000)], [], 1e-5),
        ("Abadi et al. 2016, medium noise (q 0.01, z 2, 10,000 steps)", [(0.01, 2, 10_000)], [], 1e-5),
        ("an owner: q 0.05, z 0.9, 200 steps and an ε = 1 signature", [(0.05, 0.9, 200)], [(9.6, 4), (38.4, 4)], 1e-6),
        ("a large rate: q 0.5, z 2, 50 steps", [(0.5, 2, 50)], [], 1e-6),
        ("full batches: q 1, z 5, 10 steps", [(1, 5, 10)], [], 1e-6),
    ]

    static func planned(_ total: Double) -> Case {
        // What `train --dp-sgd` plans: a quarter of ε for the signature, DP-SGD's noise for the rest.
        let signature = try! PrivacyPlan(epsilon: total / 4, delta: 1e-6, releases: DPSchedule.releases(iterations: 1, routerRows: .trained))
        let plan = try! DPSGDPlan(epsilon: total, signature: signature,
                                  samplingRate: 8.0 / 400, privateSteps: 300)
        let label = String(format: "train --dp-sgd at ε = %g: q 0.02, z %.3f, 300 steps and the signature", total, plan.noiseMultiplier)
        let gaussian: [(z: Double, count: Int)] = plan.signature.releases.map { (z: $0.noiseMultiplier, count: $0.count) }
        return (label: label, sampled: [(q: plan.samplingRate, z: plan.noiseMultiplier, steps: plan.privateSteps)], gaussian: gaussian, delta: 1e-6)
    }

    static let cases: [Case] = published + [planned(4), planned(8)]

    @Test func dpSGDIsAccountedTheSameByDPAccounting() throws {
        let request = JSONValue.object([
            ("orders", .array(RDPAccountant.orders.map { .decimal($0) })),
            ("cases", .array(Self.cases.map { c in
                .object([("delta", .decimal(c.delta)),
                         ("sampled", .array(c.sampled.map { .array([.decimal($0.q), .decimal($0.z), .int($0.steps)]) })),
                         ("gaussian", .array(c.gaussian.map { .array([.decimal($0.z), .int($0.count)]) }))])
            })),
        ])
        let answer = try runText(try interopPython(), ["-c", Self.script, JSONWriter.string(request)])
        guard case let .array(results) = try StrictJSONParser.parse(Array(answer.utf8)), results.count == Self.cases.count else {
            Issue.record("dp-accounting answered \(answer)"); return
        }
        var lines = [String]()
        for (c, r) in zip(Self.cases, results) {
            var acc = RDPAccountant()
            for s in c.sampled { acc.addSampledGaussian(samplingRate: s.q, noiseMultiplier: s.z, count: s.steps) }
            for g in c.gaussian { acc.addGaussian(noiseMultiplier: g.z, count: g.count) }
            guard case let .array(theirs) = r["rdp"], theirs.count == acc.rdp.count else { Issue.record("\(c.label): \(r)"); continue }
            // The same series summed by two implementations in log space: per order to 1e-6 relative
            // (their fractional series stops at a different term), or 1e-9 absolute near zero.
            guard case let .array(quadrature) = r["quadrature"], quadrature.count == acc.rdp.count else { Issue.record("\(c.label): \(r)"); continue }
            for (i, a) in RDPAccountant.orders.enumerated() {
                let ours = acc.rdp[i], them = theirs[i].doubleValue
                if a == a.rounded() {
                    // The same finite sum, two implementations in log space.
                    let them = try #require(them)
                    #expect(abs(ours - them) <= 1e-9 * abs(them) + 1e-12, "\(c.label), order \(a): ours \(ours), dp-accounting \(them)")
                } else {
                    // A series against a quadrature at relative tolerance 1e-13: agreement to 1e-7.
                    let q = try #require(quadrature[i].doubleValue)
                    #expect(abs(ours - q) <= 1e-7 * abs(q) + 1e-12, "\(c.label), order \(a): ours \(ours), quadrature \(q)")
                    if let them { #expect(ours <= them * (1 + 1e-9), "\(c.label), order \(a): ours \(ours) above dp-accounting's bound \(them)") }
                }
            }
            // Its ε minimises over the same orders with its looser fractional figures: ours is at most
            // its, and equal when an integer order is the best.
            let eps = try #require(r["epsilon"]?.doubleValue), (ours, order) = acc.epsilon(delta: c.delta)
            #expect(ours <= eps * (1 + 1e-9), "\(c.label): ours ε \(ours), dp-accounting \(eps)")
            if order == order.rounded() { #expect(abs(ours - eps) <= 1e-9 * max(1, eps), "\(c.label): ours ε \(ours) at order \(order), dp-accounting \(eps)") }
            // The plans meet their target by dp-accounting too: exactly when the best order is an
            // integer, within its looser fractional-order bound (0.5%) otherwise.
            if c.label.hasPrefix("train --dp-sgd") {
                let target = c.label.contains("ε = 4") ? 4.0 : 8.0
                #expect(eps <= target * (order == order.rounded() ? 1 + 1e-6 : 1.005), "\(c.label): dp-accounting ε \(eps) misses the target")
            }
            lines.append(String(format: "%@: δ %.0e, ours ε %.4f (order %g), dp-accounting ε %.4f", c.label, c.delta, ours, order, eps))
        }
        print(lines.joined(separator: "\n"))
    }
}
