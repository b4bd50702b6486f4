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

    /// Rotates q and k in place. Each row of qkv[B*T, W] holds q (H heads) then k (KV heads) then v;
    /// token (b, t) sits at position `start + t`. `inverse` applies the transpose rotation (the
    /// backward pass).
    public func apply(qkv: UnsafeMutablePointer<Float>, batch: Int, seqLen: Int, shape: AttentionShape,
                      start: Int = 0, inverse: Bool = false) {
        precondition(start + seqLen <= maxPositions, "position \(start + seqLen) is beyond the rotary table of \(maxPositions)")
        let half = headDim / 2, rotated = shape.heads + shape.kvHeads, W = shape.width
        let sign: Float = inverse ? -1 : 1
        cos.withUnsafeBufferPointer { cosTable in
            sin.withUnsafeBufferPointer { sinTable in
                for b in 0..<batch {
                    for t in 0..<seqLen {
                        let row = qkv + (b * seqLen + t) * W
                        let cs = cosTable.baseAddress! + (start + t) * half, sn = sinTable.baseAddress! + (start + t) * half
                        // q's heads and k's heads are contiguous: rotate them as one run of heads.
                        for h in 0..<rotated {
                            let x = row + h * headDim
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
