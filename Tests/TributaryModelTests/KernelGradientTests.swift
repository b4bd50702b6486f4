import Testing
@testable import TributaryModel

@Suite struct KernelGradientTests {
    @Test func rmsNorm() {
        var rng = RNG(seed: 1)
        let n = 3, c = 8
        let x = randomBuffer(n * c, &rng), w = randomBuffer(c, &rng), r = randomBuffer(n * c, &rng)
        let out = FloatBuffer(count: n * c), rstd = FloatBuffer(count: n)
        func loss() -> Double {
            RMSNorm.forward(out: out.pointer, rstd: rstd.pointer, inp: x.pointer, weight: w.pointer, n: n, c: c, eps: 1e-5)
            return weightedSum(out, r)
        }
        _ = loss()
        let dx = FloatBuffer(count: n * c), dw = FloatBuffer(count: c)
        RMSNorm.backward(dinp: dx.pointer, dweight: dw.pointer, dout: r.pointer, inp: x.pointer, weight: w.pointer, rstd: rstd.pointer, n: n, c: c)
        expectGradientsMatch("dx", analytic: dx, x: x.pointer, indices: Array(0..<n * c), f: loss)
        expectGradientsMatch("dw", analytic: dw, x: w.pointer, indices: Array(0..<c), f: loss)
    }

    /// Multi-head, grouped-query (3 query heads per key/value head), multi-query.
    static let shapes = [AttentionShape(heads: 2, kvHeads: 2, headDim: 4), AttentionShape(heads: 6, kvHeads: 2, headDim: 4),
                         AttentionShape(heads: 3, kvHeads: 1, headDim: 6)]

    @Test(arguments: shapes) func ropeBackwardIsTheTransposeRotation(shape: AttentionShape) {
        var rng = RNG(seed: 2)
        let b = 2, t = 5, w = shape.width
        let rope = RoPE(headDim: shape.headDim, maxPositions: 8, theta: 10000)
        let x = randomBuffer(b * t * w, &rng), r = randomBuffer(b * t * w, &rng)
        let y = FloatBuffer(count: x.count)
        func loss() -> Double {
            y.pointer.update(from: x.pointer, count: x.count)
            rope.apply(qkv: y.pointer, batch: b, seqLen: t, shape: shape)
            return weightedSum(y, r)
        }
        let g = FloatBuffer(r.array)
        rope.apply(qkv: g.pointer, batch: b, seqLen: t, shape: shape, inverse: true)
        expectGradientsMatch("drope", analytic: g, x: x.pointer, indices: Array(0..<x.count), f: loss)
        // Position 0 is the identity rotation; values are never rotated.
        let z = FloatBuffer(x.array)
        rope.apply(qkv: z.pointer, batch: 1, seqLen: 1, shape: shape)
        #expect(z.slice(0, w) == x.slice(0, w))
        let v = FloatBuffer(x.array)
        rope.apply(qkv: v.pointer, batch: b, seqLen: t, shape: shape)
        for row in 0..<b * t {
            let vStart = row * w + shape.qDim + shape.kvDim
            #expect(v.slice(vStart, shape.kvDim) == x.slice(vStart, shape.kvDim))
        }
        // A start offset rotates like the positions it stands for.
        let one = FloatBuffer(x.slice(3 * w, w)), full = FloatBuffer(x.slice(0, t * w))
        rope.apply(qkv: one.pointer, batch: 1, seqLen: 1, shape: shape, start: 3)
        rope.apply(qkv: full.pointer, batch: 1, seqLen: t, shape: shape)
        #expect(one.array == full.slice(3 * w, w))
    }

    @Test(arguments: shapes) func attention(shape: AttentionShape) {
        var rng = RNG(seed: 3)
        let b = 2, t = 5, h = shape.heads
        let qkv = randomBuffer(b * t * shape.width, &rng), r = randomBuffer(b * t * shape.qDim, &rng)
        let out = FloatBuffer(count: b * t * shape.qDim), probs = FloatBuffer(count: b * h * t * t)
        func loss() -> Double {
            Attention.forward(out: out.pointer, probs: probs.pointer, qkv: qkv.pointer, batch: b, seqLen: t, shape: shape)
            return weightedSum(out, r)
        }
        _ = loss()
        // Causality: probabilities above the diagonal are exactly zero, rows sum to one.
        for bh in 0..<b * h {
            for i in 0..<t {
                var s: Float = 0
                for j in 0..<t {
                    let p = probs[bh * t * t + i * t + j]
                    if j > i { #expect(p == 0) }
                    s += p
                }
                #expect(abs(s - 1) < 1e-5)
            }
        }
        // K/V gradients of a shared head are sums over the query heads that read it.
        let dqkv = FloatBuffer(count: qkv.count), scratch = FloatBuffer(count: t * t)
        Attention.backward(dqkv: dqkv.pointer, dout: r.pointer, qkv: qkv.pointer, probs: probs.pointer, scratch: scratch.pointer,
                           batch: b, seqLen: t, shape: shape)
        expectGradientsMatch("dqkv", analytic: dqkv, x: qkv.pointer, indices: Array(0..<qkv.count), f: loss)
    }

    /// Sequences longer than the forward's causal block (rows 0..<64 see keys 0..<64, the next block
    /// keys 0..<128, ...): every output and probability is plain causal attention, computed here in
    /// Double one row at a time, including rows at the block edges and a ragged last block.
    @Test func causalBlocksGiveCausalAttention() {
        var rng = RNG(seed: 17)
        let shape = AttentionShape(heads: 4, kvHeads: 2, headDim: 8), b = 2, t = Attention.causalBlock * 2 + 13
        let W = shape.width, Q = shape.qDim, D = shape.headDim
        let qkv = randomBuffer(b * t * W, &rng)
        let out = FloatBuffer(count: b * t * Q), probs = FloatBuffer(count: b * shape.heads * t * t)
        Attention.forward(out: out.pointer, probs: probs.pointer, qkv: qkv.pointer, batch: b, seqLen: t, shape: shape)
        var worst = 0.0
        for s in 0..<b {
            for h in 0..<shape.heads {
                for i in 0..<t {
                    let q = (s * t + i) * W + shape.q(h)
                    var scores = (0...i).map { j -> Double in
                        let k = (s * t + j) * W + shape.k(h)
                        return (0..<D).reduce(0.0) { $0 + Double(qkv[q + $1]) * Double(qkv[k + $1]) } / Double(D).squareRoot()
                    }
                    let m = scores.max()!
                    scores = scores.map { Foundation.exp($0 - m) }
                    let sum = scores.reduce(0, +)
                    for j in 0..<t {
                        let want = j <= i ? scores[j] / sum : 0
                        worst = max(worst, abs(Double(probs[((s * shape.heads + h) * t + i) * t + j]) - want))
                    }
                    for d in 0..<D {
                        let want = (0...i).reduce(0.0) { $0 + scores[$1] / sum * Double(qkv[(s * t + $1) * W + shape.v(h) + d]) }
                        worst = max(worst, abs(Double(out[(s * t + i) * Q + h * D + d]) - want))
                    }
                }
            }
        }
        // Float32 sums of at most 141 terms of magnitude ≲ 1: rounding stays below 1e-5.
        #expect(worst < 1e-5, "max |difference| = \(worst)")
    }

    /// Grouped-query attention equals multi-head attention with each key/value head repeated for
    /// the query heads that share it (what transformers' `repeat_kv` does).
    @Test func groupedQueryIsRepeatedKeysAndValues() {
        var rng = RNG(seed: 9)
        let g = AttentionShape(heads: 6, kvHeads: 2, headDim: 4), m = AttentionShape(heads: 6, kvHeads: 6, headDim: 4)
        let b = 1, t = 4
        let qkv = randomBuffer(b * t * g.width, &rng), expanded = FloatBuffer(count: b * t * m.width)
        for row in 0..<b * t {
            let src = qkv.pointer + row * g.width, dst = expanded.pointer + row * m.width
            dst.update(from: src, count: g.qDim)
            for h in 0..<6 {
                (dst + m.k(h)).update(from: src + g.k(h), count: 4)
                (dst + m.v(h)).update(from: src + g.v(h), count: 4)
            }
        }
        let a = FloatBuffer(count: b * t * g.qDim), c = FloatBuffer(count: b * t * m.qDim)
        let pa = FloatBuffer(count: b * 6 * t * t), pc = FloatBuffer(count: b * 6 * t * t)
        Attention.forward(out: a.pointer, probs: pa.pointer, qkv: qkv.pointer, batch: b, seqLen: t, shape: g)
        Attention.forward(out: c.pointer, probs: pc.pointer, qkv: expanded.pointer, batch: b, seqLen: t, shape: m)
        // The same products in the same order: bit-identical.
        #expect(a.array == c.array)
    }

    @Test func swiglu() {
        var rng = RNG(seed: 4)
        let n = 3, f = 11
        let hBuf = randomBuffer(n * 2 * f, &rng, scale: 2), r = randomBuffer(n * f, &rng)
        let a = FloatBuffer(count: n * f)
        func loss() -> Double {
            SwiGLU.forward(out: a.pointer, h: hBuf.pointer, n: n, f: f)
            return weightedSum(a, r)
        }
        _ = loss()
        let dh = FloatBuffer(count: hBuf.count)
        SwiGLU.backward(dh: dh.pointer, da: r.pointer, h: hBuf.pointer, n: n, f: f)
        expectGradientsMatch("dh", analytic: dh, x: hBuf.pointer, indices: Array(0..<hBuf.count), f: loss)
    }

    @Test func crossEntropy() {
        var rng = RNG(seed: 5)
        let n = 4, v = 13
        let logits = randomBuffer(n * v, &rng, scale: 3)
        let targets: [Int32] = [0, 12, 5, 7]
        let work = FloatBuffer(count: n * v)
        func loss() -> Double {
            work.pointer.update(from: logits.pointer, count: n * v)
            return CrossEntropy.forward(logits: work.pointer, targets: targets, n: n, v: v, gradScale: nil)
        }
        let grad = FloatBuffer(logits.array)
        let l = CrossEntropy.forward(logits: grad.pointer, targets: targets, n: n, v: v, gradScale: 1)
        #expect(abs(l - loss()) < 1e-5)
        expectGradientsMatch("dlogits", analytic: grad, x: logits.pointer, indices: Array(0..<n * v), f: loss)
    }

    @Test func fastExpIsAccurate() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let want = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(FastMath.exp(x) - want) / want)
            x += 0.173
        }
        #expect(worst < 5e-7)
        #expect(FastMath.exp(-1000) >= 0)
        #expect(FastMath.exp(1000).isFinite)
    }

    @Test(arguments: [(3, 2), (2, 2), (4, 1)])
    func moeBlock(experts: Int, topK: Int) {
        let b = RandomMoEBlock(experts: experts, topK: topK, seed: 6)
        let (n, d, f, ws, x, r, router, w13, w2, weights, out) = (b.n, b.d, b.f, b.ws, b.x, b.r, b.router, b.w13, b.w2, b.weights, b.out)
        func loss() -> Double {
            ws.forward(out: out.pointer, x: x.pointer, weights: weights, accumulate: false)
            return weightedSum(out, r)
        }
        _ = loss()
        let dx = FloatBuffer(count: n * d), dr = FloatBuffer(count: router.count)
        let d13 = (0..<experts).map { _ in FloatBuffer(count: 2 * f * d) }, d2 = (0..<experts).map { _ in FloatBuffer(count: d * f) }
        let grads = MoEWorkspace.Grads(router: dr.pointer, routerRows: Array(repeating: true, count: experts),
                                       w13: d13.map { Optional($0.pointer) }, w2: d2.map { Optional($0.pointer) })
        ws.backward(dx: dx.pointer, dout: r.pointer, x: x.pointer, weights: weights, grads: grads)
        expectGradientsMatch("dx", analytic: dx, x: x.pointer, indices: Array(0..<x.count), eps: 1e-3, f: loss)
        expectGradientsMatch("drouter", analytic: dr, x: router.pointer, indices: Array(0..<router.count), eps: 1e-3, f: loss)
        for e in 0..<experts {
            expectGradientsMatch("dw13[\(e)]", analytic: d13[e], x: w13[e].pointer, indices: Array(stride(from: 0, to: 2 * f * d, by: 3)), eps: 1e-3, f: loss)
            expectGradientsMatch("dw2[\(e)]", analytic: d2[e], x: w2[e].pointer, indices: Array(stride(from: 0, to: d * f, by: 2)), eps: 1e-3, f: loss)
        }
    }

    /// Router tuning's routing loss: w · −log(p_0 + p_label), p the softmax of all router logits,
    /// computed here in Double from x and the router, joins the block's loss; labels of 0 add nothing.
    @Test func moeRoutingLoss() {
        let experts = 4, w: Float = 0.7
        let labels: [Int32] = [1, 2, 3, 0, 2, 1, 3]
        let b = RandomMoEBlock(experts: experts, topK: 2, seed: 8)
        let (n, d, ws, x, r, router, weights, out) = (b.n, b.d, b.ws, b.x, b.r, b.router, b.weights, b.out)
        func routingLoss() -> Double {
            var total = 0.0
            for t in 0..<n where labels[t] >= 1 {
                let z = (0..<experts).map { e in (0..<d).reduce(0.0) { $0 + Double(x[t * d + $1]) * Double(router[e * d + $1]) } }
                let all = z.reduce(0) { $0 + exp($1) }, kept = exp(z[0]) + exp(z[Int(labels[t])])
                total += log(all) - log(kept)
            }
            return Double(w) * total
        }
        func loss() -> Double {
            ws.forward(out: out.pointer, x: x.pointer, weights: weights, accumulate: false)
            return weightedSum(out, r) + routingLoss()
        }
        _ = loss()
        let dx = FloatBuffer(count: n * d), dr = FloatBuffer(count: router.count)
        let grads = MoEWorkspace.Grads(router: dr.pointer, routerRows: Array(repeating: true, count: experts),
                                       w13: Array(repeating: nil, count: experts), w2: Array(repeating: nil, count: experts))
        ws.backward(dx: dx.pointer, dout: r.pointer, x: x.pointer, weights: weights, grads: grads, routing: .init(labels: labels, weight: w))
        expectGradientsMatch("dx", analytic: dx, x: x.pointer, indices: Array(0..<x.count), eps: 1e-3, f: loss)
        expectGradientsMatch("drouter", analytic: dr, x: router.pointer, indices: Array(0..<router.count), eps: 1e-3, f: loss)
        #expect(routingLoss() > 0)
        // Far below the largest logit, both kept logits underflow in p; the gradient stays finite and is
        // still −1 split between them, +1 on the expert that has the token.
        let far = MoEWorkspace(tokens: 1, hidden: 1, intermediate: 1, experts: 3, topK: 2)
        let one = FloatBuffer([1]), rows = FloatBuffer([-200, 0, -201]), dlog = FloatBuffer(count: 3)
        let w13 = FloatBuffer(count: 2), w2v = FloatBuffer(count: 1), farOut = FloatBuffer(count: 1), farDout = FloatBuffer(count: 1)
        let farWeights = MoEWorkspace.Weights(router: rows.pointer, w13: [w13.pointer, w13.pointer, w13.pointer], w2: [w2v.pointer, w2v.pointer, w2v.pointer])
        far.forward(out: farOut.pointer, x: one.pointer, weights: farWeights, accumulate: false)
        let label: [Int32] = [2]
        far.backward(dx: nil, dout: farDout.pointer, x: one.pointer, weights: farWeights,
                     grads: .init(router: dlog.pointer, routerRows: [false, true, true], w13: [nil, nil, nil], w2: [nil, nil, nil]),
                     routing: .init(labels: label, weight: 1))
        #expect(dlog[1] > 0.99 && dlog[2] < -0.26 && dlog[2] > -0.28 && dlog[0] == 0, "\(dlog[0]) \(dlog[1]) \(dlog[2])")
        withExtendedLifetime((farOut, farDout, w13, w2v, rows, one)) {}
    }
}

import Foundation

/// A 7-token MoE block of width 4 and FFN width 6 with random weights, input x and upstream gradient r.
struct RandomMoEBlock {
    let n = 7, d = 4, f = 6
    let ws: MoEWorkspace
    let x: FloatBuffer, r: FloatBuffer, router: FloatBuffer
    let w13: [FloatBuffer], w2: [FloatBuffer]
    let weights: MoEWorkspace.Weights
    let out: FloatBuffer

    init(experts: Int, topK: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        ws = MoEWorkspace(tokens: n, hidden: d, intermediate: f, experts: experts, topK: topK)
        x = randomBuffer(n * d, &rng)
        r = randomBuffer(n * d, &rng)
        router = randomBuffer(experts * d, &rng)
        let (d, f) = (d, f)
        w13 = (0..<experts).map { _ in randomBuffer(2 * f * d, &rng, scale: 0.5) }
        w2 = (0..<experts).map { _ in randomBuffer(d * f, &rng, scale: 0.5) }
        weights = MoEWorkspace.Weights(router: router.pointer, w13: w13.map(\.pointer), w2: w2.map(\.pointer))
        out = FloatBuffer(count: n * d)
    }
}
