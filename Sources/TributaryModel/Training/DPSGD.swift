import Foundation
import TributaryCore

/// DP-SGD with the document as the unit of privacy (Abadi et al. 2016, with the Poisson sampling its
/// accounting assumes): at every private step each document joins the batch independently with
/// probability q; a joined document gives one window (all of it when it is shorter, a random window
/// otherwise); its gradient of everything that trains is clipped to L2 norm C; the clipped gradients
/// are summed, N(0, (zC)²) noise is added to every coordinate, and the sum is divided by the expected
/// batch q·N. One document changes at most one clipped gradient per step, whatever its length, so the
/// step is the sampled Gaussian mechanism of `SampledGaussian` per document, not per window.
public struct DPSGDOptions: Sendable, Equatable {
    /// q: the probability that a document joins a step's batch.
    public var samplingRate: Double
    /// z: the noise's standard deviation relative to the clip norm.
    public var noiseMultiplier: Double
    /// C: the L2 norm each document's gradient is clipped to.
    public var clipNorm: Double
    /// Sampling and noise from a seeded generator instead of the CSPRNG: repeatable, and so not
    /// private (whoever knows the seed knows the noise). Tests only.
    public var insecureSeed: UInt64?

    public init(samplingRate: Double, noiseMultiplier: Double, clipNorm: Double, insecureSeed: UInt64? = nil) {
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.insecureSeed = insecureSeed
    }

    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("train.invalid_options", why) } }
        try check(samplingRate > 0 && samplingRate <= 1, "the DP-SGD sampling rate must be in (0, 1], got \(samplingRate)")
        try check(noiseMultiplier > 0 && noiseMultiplier.isFinite, "the DP-SGD noise multiplier must be positive, got \(noiseMultiplier)")
        try check(clipNorm > 0 && clipNorm.isFinite, "the DP-SGD clip norm must be positive, got \(clipNorm)")
    }

    /// What goes into a run's fingerprint (never the seed).
    public var json: JSONValue {
        .object([("samplingRate", .decimal(samplingRate)), ("noiseMultiplier", .decimal(noiseMultiplier)), ("clipNorm", .decimal(clipNorm)),
                 ("seeded", .bool(insecureSeed != nil))])
    }
}

/// The private documents of DP-SGD, tokenized one by one (`Tokenizer.document`), and the window a
/// joined document gives.
public struct DocumentTokens: Sendable {
    public let documents: [[Int32]]

    public init(_ documents: [[Int32]]) throws {
        guard !documents.isEmpty, documents.allSatisfy({ $0.count >= 2 }) else {
            throw TributaryError("corpus.too_small", "DP-SGD needs documents of at least two tokens; got \(documents.count) documents")
        }
        self.documents = documents
    }

    /// The documents one after another: the token stream `Corpus.tokenStream` gives for them.
    public var stream: [Int32] { documents.flatMap { $0 } }

    /// Inputs and targets [seqLen] of document `d`: a window at a random offset when it is longer
    /// than `seqLen` + 1 tokens, else all of it with padding targets (-1: no loss, no gradient).
    /// Also how many targets count.
    func window(_ d: Int, seqLen: Int, rng: inout RNG) -> (inputs: [Int32], targets: [Int32], counted: Int) {
        let doc = documents[d]
        if doc.count > seqLen + 1 {
            let start = rng.below(doc.count - seqLen)
            return (Array(doc[start..<start + seqLen]), Array(doc[start + 1...start + seqLen]), seqLen)
        }
        let n = doc.count - 1
        let inputs = Array(doc[0..<n]) + [Int32](repeating: doc[n], count: seqLen - n)
        let targets = Array(doc[1...n]) + [Int32](repeating: -1, count: seqLen - n)
        return (inputs, targets, n)
    }
}

/// Where DP-SGD's randomness comes from: the CSPRNG, or (tests) a seeded generator.
struct DPRandomness {
    private var seeded: RNG?

    init(insecureSeed: UInt64?, step: Int, stream: UInt64) {
        seeded = insecureSeed.map { RNG(seed: $0 &+ 0xD9_5CD &* UInt64(step + 1) &+ stream) }
    }

    /// A generator for the step's sampling and windows: seeded from the CSPRNG unless tests gave a seed.
    /// (A 64-bit secret: the sample is never published, only the noised sum of its gradients.)
    mutating func generator() -> RNG {
        if var s = seeded { let g = RNG(seed: s.next()); seeded = s; return g }
        let b = secureRandomBytes(8)
        return RNG(seed: b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// Adds N(0, σ²) to each of `n` values (Box–Muller over 53-bit uniforms; the CSPRNG's unless seeded).
    mutating func addGaussian(sigma: Double, to x: UnsafeMutablePointer<Float>, count n: Int) {
        let chunk = 1 << 15
        var i = 0
        while i < n {
            let m = min(chunk, n - i), pairs = (m + 1) / 2
            var uniforms = [UInt64](repeating: 0, count: 2 * pairs)
            if var s = seeded {
                for k in uniforms.indices { uniforms[k] = s.next() }
                seeded = s
            } else {
                let bytes = secureRandomBytes(16 * pairs)
                bytes.withUnsafeBytes { raw in for k in uniforms.indices { uniforms[k] = raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) } }
            }
            for p in 0..<pairs {
                let u1 = (Double(uniforms[2 * p] >> 11) + 0.5) * 0x1p-53, u2 = Double(uniforms[2 * p + 1] >> 11) * 0x1p-53
                let r = sigma * (-2 * log(u1)).squareRoot(), t = 2 * Double.pi * u2
                x[i + 2 * p] += Float(r * cos(t))
                if 2 * p + 1 < m { x[i + 2 * p + 1] += Float(r * sin(t)) }
            }
            i += m
        }
    }
}

/// The documents that join step `step`'s batch: each independently with probability q.
func poissonSample(documents n: Int, rate q: Double, rng: inout RNG) -> [Int] {
    (0..<n).filter { _ in rng.uniformDouble() < q }
}

/// The squared L2 norm of `n` floats, accumulated in Double (a clip bound must not be rounded away).
func squaredNorm(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var s: Double = 0
    for i in 0..<n { let v = Double(x[i]); s += v * v }
    return s
}
