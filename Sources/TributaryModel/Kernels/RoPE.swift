import Foundation

/// Rotary position embeddings in the Hugging Face Llama convention: each head's vector is split in
/// two halves (x1, x2) and rotated as (x1 cos − x2 sin, x2 cos + x1 sin) with angle pos · θ^(−2i/hd).
public struct RoPE: Sendable {
    public let headDim: Int
    public let maxPositions: Int
    /// [maxPositions, headDim/2]
    let cos: [Float]
    let sin: [Float]

    public init(headDim: Int, maxPositions: Int, theta: Float) {
        self.headDim = headDim
        self.maxPositions = maxPositions
        let half = headDim / 2
        var c = [Float](repeating: 0, count: maxPositions * half), s = c
        for i in 0..<half {
            // transformers computes inv_freq in float32; mirror that, then the angle in float32 too.
            let invFreq = 1 / Float(pow(Double(theta), Double(2 * i) / Double(headDim)))
            for p in 0..<maxPositions {
                let angle = Float(p) * invFreq
                c[p * half + i] = Foundation.cos(angle)
                s[p * half + i] = Foundation.sin(angle)
            }
        }
        cos = c
        sin = s
    }

    /// Rotates q and k in place. qkv[B*T, 3C] holds q in columns [0, C) and k in [C, 2C); token
    /// (b, t) sits at position t. `inverse` applies the transpose rotation (the backward pass).
    public func apply(qkv: UnsafeMutablePointer<Float>, batch: Int, seqLen: Int, channels: Int, inverse: Bool = false) {
        let half = headDim / 2, heads = channels / headDim
        let sign: Float = inverse ? -1 : 1
        cos.withUnsafeBufferPointer { cosTable in
            sin.withUnsafeBufferPointer { sinTable in
                for b in 0..<batch {
                    for t in 0..<seqLen {
                        let row = qkv + (b * seqLen + t) * 3 * channels
                        let cs = cosTable.baseAddress! + t * half, sn = sinTable.baseAddress! + t * half
                        for part in 0..<2 {
                            for h in 0..<heads {
                                let x = row + part * channels + h * headDim
                                for i in 0..<half {
                                    let x1 = x[i], x2 = x[i + half]
                                    let c = cs[i], s = sign * sn[i]
                                    x[i] = x1 * c - x2 * s
                                    x[i + half] = x2 * c + x1 * s
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
