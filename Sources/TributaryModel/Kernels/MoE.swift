/// A Mixtral sparse MoE block: router logits = x W_gᵀ, each token goes to its top-k experts with
/// weights softmax(top-k logits) (= softmax over all, top-k, renormalised), and each expert is a SwiGLU
/// MLP. Tokens are gathered per expert so every expert runs one sgemm per projection; when an expert
/// receives every token (training's 2 experts, top-2) no gather happens at all.
public final class MoEWorkspace: @unchecked Sendable {
    let d: Int, f: Int, experts: Int, topK: Int
    /// Tokens the next pass runs (at most `capacity`, what the buffers hold); the decoder varies it.
    private(set) var n: Int
    let capacity: Int
    /// Cores each expert product is split across (the decoder's few rows cannot fill one core's
    /// memory bandwidth otherwise); training keeps 1 and parallelises over sequences instead.
    public var parts = 1
    let logits: FloatBuffer        // [N, E]
    var selected: [Int32]          // [N, k] expert per slot
    let gates: FloatBuffer         // [N, k]
    var count: [Int]               // tokens per expert
    var offset: [Int]              // start of each expert's rows in the packed buffers
    var rowToken: [Int32]          // [N*k] token of each packed row
    var rowSlot: [Int32]           // [N*k] slot (0..<k) of each packed row
    let xin: FloatBuffer           // [N*k, D] gathered inputs (unused for experts that take every token)
    let h: FloatBuffer             // [N*k, 2F]
    let a: FloatBuffer             // [N*k, F]
    let y: FloatBuffer             // [N*k, D] expert outputs before gating
    // Backward scratch.
    let dy: FloatBuffer, da: FloatBuffer, dh: FloatBuffer, dx: FloatBuffer  // [N, D], [N, F], [N, 2F], [N, D]
    let dgate: FloatBuffer         // [N, k]
    let dlogits: FloatBuffer       // [N, E]
    let loraScratch: FloatBuffer   // LoRA.scratchCount(N, r) when an expert trains a rank-r update, else empty

    public init(tokens n: Int, hidden d: Int, intermediate f: Int, experts: Int, topK: Int, loraRank: Int = 0) {
        self.n = n; self.capacity = n; self.d = d; self.f = f; self.experts = experts; self.topK = topK
        logits = FloatBuffer(count: n * experts)
        selected = [Int32](repeating: 0, count: n * topK)
        gates = FloatBuffer(count: n * topK)
        count = [Int](repeating: 0, count: experts)
        offset = [Int](repeating: 0, count: experts + 1)
        rowToken = [Int32](repeating: 0, count: n * topK)
        rowSlot = [Int32](repeating: 0, count: n * topK)
        xin = FloatBuffer(count: topK < experts ? n * topK * d : 0)
        h = FloatBuffer(count: n * topK * 2 * f)
        a = FloatBuffer(count: n * topK * f)
        y = FloatBuffer(count: n * topK * d)
        dy = FloatBuffer(count: n * d); da = FloatBuffer(count: n * f); dh = FloatBuffer(count: n * 2 * f); dx = FloatBuffer(count: n * d)
        dgate = FloatBuffer(count: n * topK)
        dlogits = FloatBuffer(count: n * experts)
        loraScratch = FloatBuffer(count: LoRA.scratchCount(tokens: n, rank: loraRank))
    }

    /// The Floats `init` allocates (training's memory estimate).
    static func floatCount(tokens n: Int, hidden d: Int, intermediate f: Int, experts: Int, topK: Int, loraRank: Int = 0) -> Int {
        LoRA.scratchCount(tokens: n, rank: loraRank) + n * experts + n * topK + (topK < experts ? n * topK * d : 0) + n * topK * 2 * f + n * topK * f + n * topK * d
            + n * d + n * f + n * 2 * f + n * d + n * topK + n * experts
    }

    var allocatedFloats: Int {
        [logits, gates, xin, h, a, y, dy, da, dh, dx, dgate, dlogits, loraScratch].reduce(0) { $0 + $1.count }
    }

    /// Pointers to one layer's MoE weights: router [E, D]; per expert w13 [2F, D] (w1 then w3), w2 [D, F].
    public struct Weights {
        public let router: UnsafeMutablePointer<Float>
        public let w13: [UnsafeMutablePointer<Float>]
        public let w2: [UnsafeMutablePointer<Float>]
    }

    /// Which gradients to compute. Frozen weights get none at all.
    public struct Grads {
        public var router: UnsafeMutablePointer<Float>?
        public var routerRows: [Bool]
        public var w13: [UnsafeMutablePointer<Float>?]
        public var w2: [UnsafeMutablePointer<Float>?]
        /// The factors of a LoRA update that trains in place of its expert's weights (whose own
        /// gradients are then nil).
        public var lora: LoRAGrads?
    }

    /// One expert's LoRA factors and their gradients, per target in `LoRAShape.Target.allCases` order
    /// (nil where the update does not target the projection).
    public struct LoRAGrads {
        public let expert: Int, rank: Int, scale: Float
        public let a: [UnsafePointer<Float>?], b: [UnsafePointer<Float>?]
        public let da: [UnsafeMutablePointer<Float>?], db: [UnsafeMutablePointer<Float>?]
        public init(expert: Int, rank: Int, scale: Float, a: [UnsafePointer<Float>?], b: [UnsafePointer<Float>?],
                    da: [UnsafeMutablePointer<Float>?], db: [UnsafeMutablePointer<Float>?]) {
            self.expert = expert; self.rank = rank; self.scale = scale
            self.a = a; self.b = b; self.da = da; self.db = db
        }

        /// Adds target i's factor gradients for out[rows, oc] = inp[rows, ic] · Wᵀ.
        func accumulate(_ i: Int, dout: UnsafePointer<Float>, lddo: Int, inp: UnsafePointer<Float>, ldi: Int,
                        rows: Int, ic: Int, oc: Int, scratch: UnsafeMutablePointer<Float>) {
            guard let a = a[i], let b = b[i], let da = da[i], let db = db[i] else { return }
            LoRA.backward(da: da, db: db, dout: dout, lddo: lddo, inp: inp, ldi: ldi, a: a, b: b, n: rows, ic: ic, oc: oc,
                          rank: rank, scale: scale, scratch: scratch)
        }
    }

    /// Rows are packed in token order, so an expert that takes every token has row r == token r and
    /// can read x directly.
    func takesEveryToken(_ e: Int) -> Bool { count[e] == n }

    /// The next pass runs `rows` tokens (at most the capacity the workspace was made for).
    func use(rows: Int) {
        precondition(rows >= 1 && rows <= capacity, "\(rows) rows in a workspace for \(capacity)")
        n = rows
    }

    /// x[N, D] → out[N, D] (overwritten; pass `accumulate` to add into out instead). With `allowed`
    /// ([N] expert sets), token t chooses its top-k among its allowed experts only; a token allowed
    /// fewer than k experts uses the ones it has (the unused slots are -1, gate 0).
    public func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weights: Weights, accumulate: Bool,
                        allowed: [ExpertSet]? = nil) {
        let E = experts, k = topK
        Linear.forward(out: logits.pointer, inp: x, weight: weights.router, n: n, ic: d, oc: E)
        for c in 0..<E { count[c] = 0 }
        var chosen = [Int](repeating: -1, count: k)
        for t in 0..<n {
            Self.topK(logits: logits.pointer + t * E, experts: E, allowed: allowed?[t] ?? .all, chosen: &chosen, gates: gates.pointer + t * k)
            precondition(chosen[0] >= 0, "token \(t) is allowed no expert")
            for s in 0..<k {
                selected[t * k + s] = Int32(chosen[s])
                if chosen[s] >= 0 { count[chosen[s]] += 1 }
            }
        }
        offset[0] = 0
        for e in 0..<E { offset[e + 1] = offset[e] + count[e] }
        var fill = Array(offset.prefix(E))
        for t in 0..<n {
            for s in 0..<k where selected[t * k + s] >= 0 {
                let e = Int(selected[t * k + s])
                rowToken[fill[e]] = Int32(t)
                rowSlot[fill[e]] = Int32(s)
                fill[e] += 1
            }
        }
        if !accumulate { out.update(repeating: 0, count: n * d) }
        for e in 0..<E where count[e] > 0 {
            let rows = count[e], base = offset[e]
            let input = expertInput(e, x: x)
            let h = self.h.pointer + base * 2 * f, a = self.a.pointer + base * f, y = self.y.pointer + base * d
            Linear.forward(out: h, inp: input, weight: weights.w13[e], n: rows, ic: d, oc: 2 * f, parts: parts)
            SwiGLU.forward(out: a, h: h, n: rows, f: f)
            Linear.forward(out: y, inp: a, weight: weights.w2[e], n: rows, ic: f, oc: d, parts: parts)
            for r in 0..<rows {
                let t = Int(rowToken[base + r]), s = Int(rowSlot[base + r])
                FastMath.axpy(gates.pointer[t * k + s], y + r * d, out + t * d, d)
            }
        }
    }

    /// Mixtral gating of one token: the `chosen.count` largest of `experts` router logits among the
    /// `allowed` experts (ties go to the lower index, slots beyond the allowed ones are -1), and
    /// gates = softmax over the kept logits (= softmax over all, top-k, renormalised).
    @inline(__always)
    public static func topK(logits row: UnsafePointer<Float>, experts E: Int, allowed: ExpertSet, chosen: inout [Int],
                            gates: UnsafeMutablePointer<Float>) {
        let k = chosen.count
        for s in 0..<k {
            var best = -1
            if let members = allowed.members {
                for e in members where e < E && !chosen[0..<s].contains(e) && (best < 0 || row[e] > row[best]) { best = e }
            } else {
                for e in 0..<E where !chosen[0..<s].contains(e) && (best < 0 || row[e] > row[best]) { best = e }
            }
            chosen[s] = best
        }
        guard chosen[0] >= 0 else { return }
        let m = row[chosen[0]]
        var sum: Float = 0
        for s in 0..<k {
            let g = chosen[s] < 0 ? 0 : FastMath.exp(row[chosen[s]] - m)
            gates[s] = g
            sum += g
        }
        for s in 0..<k { gates[s] /= sum }
    }

    /// The expert's input rows: x itself when it takes every token in order, else gathered into xin.
    private func expertInput(_ e: Int, x: UnsafePointer<Float>) -> UnsafePointer<Float> {
        if takesEveryToken(e) { return x }
        let base = offset[e]
        for r in 0..<count[e] {
            (xin.pointer + (base + r) * d).update(from: x + Int(rowToken[base + r]) * d, count: d)
        }
        return UnsafePointer(xin.pointer + base * d)
    }

    /// The routing loss router tuning adds (`RouterTuningRecipe.routingLossWeight`): a token whose text
    /// came from contributed expert y ≥ 1 should be routed within {anchor, y}, Mixtral's top-2 of its
    /// owner's own model: `weight` × −log(p_0 + p_y), p = softmax of all E router logits. How the
    /// anchor and y share the token is left to the next-token loss. Labels < 1 add nothing.
    public struct RoutingLoss: Sendable {
        public let labels: [Int32]   // [N]
        public let weight: Float
        public init(labels: [Int32], weight: Float) {
            self.labels = labels
            self.weight = weight
        }
    }

    /// dout[N, D] → dx[N, D] (+= when dx is given) and the requested weight gradients; with
    /// `routing`, its loss's gradient joins the router logits' (and so x's).
    public func backward(dx dxOut: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         weights: Weights, grads: Grads, routing: RoutingLoss? = nil) {
        let E = experts, k = topK
        dgate.zero()
        for e in 0..<E where count[e] > 0 {
            let rows = count[e], base = offset[e]
            let direct = takesEveryToken(e)
            let input = direct ? x : UnsafePointer(xin.pointer + base * d)
            let h = self.h.pointer + base * 2 * f, a = self.a.pointer + base * f, y = self.y.pointer + base * d
            // dy_e = gate · dout (per row); dgate = <dout, y_e>.
            for r in 0..<rows {
                let t = Int(rowToken[base + r]), s = Int(rowSlot[base + r])
                let g = gates.pointer[t * k + s]
                let src = dout + t * d, dst = dy.pointer + r * d
                for i in 0..<d { dst[i] = g * src[i] }
                dgate.pointer[t * k + s] = FastMath.dot(src, y + r * d, d)
            }
            // Through w2, SwiGLU and w13.
            let lora = grads.lora.flatMap { $0.expert == e ? $0 : nil }
            Linear.backwardInput(dinp: da.pointer, dout: dy.pointer, weight: weights.w2[e], n: rows, ic: f, oc: d, accumulate: false)
            if let gw2 = grads.w2[e] {
                Linear.backwardWeight(dweight: gw2, dout: dy.pointer, inp: a, n: rows, ic: f, oc: d)
            }
            // LoRA targets in allCases order: 0 gate (w13 rows 0..<F), 1 up (rows F..<2F), 2 down (w2).
            lora?.accumulate(2, dout: dy.pointer, lddo: d, inp: a, ldi: f, rows: rows, ic: f, oc: d, scratch: loraScratch.pointer)
            SwiGLU.backward(dh: dh.pointer, da: da.pointer, h: h, n: rows, f: f)
            if let gw13 = grads.w13[e] {
                Linear.backwardWeight(dweight: gw13, dout: dh.pointer, inp: input, n: rows, ic: d, oc: 2 * f)
            }
            lora?.accumulate(0, dout: dh.pointer, lddo: 2 * f, inp: input, ldi: d, rows: rows, ic: d, oc: f, scratch: loraScratch.pointer)
            lora?.accumulate(1, dout: dh.pointer + f, lddo: 2 * f, inp: input, ldi: d, rows: rows, ic: d, oc: f, scratch: loraScratch.pointer)
            guard let dxOut else { continue }
            if direct {
                Linear.backwardInput(dinp: dxOut, dout: dh.pointer, weight: weights.w13[e], n: rows, ic: d, oc: 2 * f, accumulate: true)
            } else {
                Linear.backwardInput(dinp: dx.pointer, dout: dh.pointer, weight: weights.w13[e], n: rows, ic: d, oc: 2 * f, accumulate: false)
                for r in 0..<rows {
                    let t = Int(rowToken[base + r])
                    FastMath.axpy(1, dx.pointer + r * d, dxOut + t * d, d)
                }
            }
        }
        // Router: for kept slots, dlogit_s = g_s (dg_s − Σ_j g_j dg_j); unselected logits get no gradient.
        let needRouter = grads.router != nil && grads.routerRows.contains(true)
        guard needRouter || dxOut != nil else { return }
        dlogits.zero()
        for t in 0..<n {
            var s0: Float = 0
            for s in 0..<k { s0 += gates.pointer[t * k + s] * dgate.pointer[t * k + s] }
            for s in 0..<k where selected[t * k + s] >= 0 {
                let g = gates.pointer[t * k + s]
                dlogits.pointer[t * E + Int(selected[t * k + s])] = g * (dgate.pointer[t * k + s] - s0)
            }
        }
        if let routing { addRoutingLossGradient(routing) }
        if let gr = grads.router {
            for e in 0..<E where grads.routerRows[e] {
                // dW_g[e] += Σ_t dlogit[t, e] x_t
                sgemm(transA: true, m: 1, n: d, k: n, a: dlogits.pointer + e, lda: E, b: x, ldb: d, beta: 1, c: gr + e * d, ldc: d)
            }
        }
        if let dxOut {
            Linear.backwardInput(dinp: dxOut, dout: dlogits.pointer, weight: weights.router, n: n, ic: d, oc: E, accumulate: true)
        }
    }

    /// dlogits[t, j] += w (p_j − q_j), p = softmax of logits[t, 0..<E], q = the softmax of logits 0 and y
    /// alone (0 elsewhere): p_j / (p_0 + p_y) computed without dividing by a mass that can underflow
    /// when both logits lie far below the largest.
    private func addRoutingLossGradient(_ routing: RoutingLoss) {
        let E = experts
        var p = [Float](repeating: 0, count: E)
        for t in 0..<n {
            let y = Int(routing.labels[t])
            guard y >= 1 && y < E else { continue }
            let row = logits.pointer + t * E, d = dlogits.pointer + t * E
            var m = row[0]
            for j in 1..<E { m = max(m, row[j]) }
            var sum: Float = 0
            for j in 0..<E { p[j] = FastMath.exp(row[j] - m); sum += p[j] }
            for j in 0..<E { p[j] /= sum }
            let pair = max(row[0], row[y]), e0 = FastMath.exp(row[0] - pair), ey = FastMath.exp(row[y] - pair)
            for j in 0..<E { d[j] += routing.weight * p[j] }
            d[0] -= routing.weight * e0 / (e0 + ey)
            d[y] -= routing.weight * ey / (e0 + ey)
        }
    }
}
