import Foundation

/// AdamW (Loshchilov & Hutter) over the trainable spans of a flat parameter buffer, with decoupled
/// weight decay on the spans marked for it. Frozen spans are never read or written.
public final class AdamW: @unchecked Sendable {
    public struct Hyper: Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.95
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0
        public init() {}
    }

    public let hyper: Hyper
    /// First and second moments, one value per trainable parameter, spans concatenated in order.
    public let m: FloatBuffer
    public let v: FloatBuffer
    public private(set) var step = 0
    /// Each span's learning rate is `lrScale` times the step's.
    let spans: [(offset: Int, count: Int, decay: Bool, lrScale: Float)]

    public init(spans: [(offset: Int, count: Int, decay: Bool, lrScale: Float)], hyper: Hyper) {
        self.spans = spans
        self.hyper = hyper
        let n = spans.reduce(0) { $0 + $1.count }
        m = FloatBuffer(count: n)
        v = FloatBuffer(count: n)
    }

    /// Restores the state of a checkpoint.
    public func restore(step: Int, m: [Float], v: [Float]) {
        precondition(m.count == self.m.count && v.count == self.v.count)
        self.step = step
        m.withUnsafeBufferPointer { self.m.pointer.update(from: $0.baseAddress!, count: $0.count) }
        v.withUnsafeBufferPointer { self.v.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }

    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, lr: Float) {
        step += 1
        let b1 = hyper.beta1, b2 = hyper.beta2
        let c1 = 1 - Float(Foundation.pow(Double(b1), Double(step)))
        let c2 = 1 - Float(Foundation.pow(Double(b2), Double(step)))
        var k = 0
        for span in spans {
            let p = params + span.offset, g = grads + span.offset
            let mm = m.pointer + k, vv = v.pointer + k
            let decay = span.decay ? hyper.weightDecay : 0, lr = lr * span.lrScale
            for i in 0..<span.count {
                let gi = g[i]
                let mi = b1 * mm[i] + (1 - b1) * gi
                let vi = b2 * vv[i] + (1 - b2) * gi * gi
                mm[i] = mi
                vv[i] = vi
                p[i] -= lr * ((mi / c1) / ((vi / c2).squareRoot() + hyper.eps) + decay * p[i])
            }
            k += span.count
        }
    }
}

/// Learning rate: linear warmup to `maxLR`, then cosine decay to `minLR` at `totalSteps`.
public struct CosineSchedule: Sendable, Equatable {
    public var maxLR: Float, minLR: Float, warmupSteps: Int, totalSteps: Int
    public init(maxLR: Float, minLR: Float, warmupSteps: Int, totalSteps: Int) {
        self.maxLR = maxLR
        self.minLR = minLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func lr(step: Int) -> Float {
        if step < warmupSteps { return maxLR * Float(step + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Double(step - warmupSteps) / Double(span), 1)
        return minLR + (maxLR - minLR) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}
