import Foundation

/// Softmax cross-entropy over the vocabulary, fused with its gradient.
public enum CrossEntropy {
    /// logits[N, V] with targets[N] → the summed loss in nats. The logits are overwritten: with
    /// ∂loss/∂logits = (softmax − onehot) · gradScale when `gradScale` is given, else with exp values.
    /// A negative target marks padding: it adds no loss and gets a zero gradient.
    public static func forward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, n: Int, v: Int,
                               gradScale: Float?) -> Double {
        var total: Double = 0
        for t in 0..<n {
            let row = logits + t * v
            let target = Int(targets[t])
            if target < 0 {
                if gradScale != nil { row.update(repeating: 0, count: v) }
                continue
            }
            let m = FastMath.max(row, v)
            let shifted = row[target] - m
            let sum = FastMath.expShifted(row, row, v, shift: m)
            total += Double(Foundation.log(sum) - shifted)
            guard let gradScale else { continue }
            let inv = gradScale / sum
            for j in 0..<v { row[j] *= inv }
            row[target] -= gradScale
        }
        return total
    }
}
