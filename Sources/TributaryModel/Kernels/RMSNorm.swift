/// RMSNorm (Hugging Face LlamaRMSNorm): y = x / sqrt(mean(x²) + eps) * w.
public enum RMSNorm {
    /// out[N,C] = norm(inp[N,C]) * weight[C]; saves rstd[N] for the backward pass.
    public static func forward(out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?,
                               inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, n: Int, c: Int, eps: Float) {
        for t in 0..<n {
            let x = inp + t * c, y = out + t * c
            let r = 1 / (FastMath.dot(x, x, c) / Float(c) + eps).squareRoot()
            rstd?[t] = r
            for i in 0..<c { y[i] = x[i] * r * weight[i] }
        }
    }

    /// dinp[N,C] += ∂L/∂inp; dweight[C] += ∂L/∂weight when given.
    /// dx_i = r (w_i g_i − x_i r² mean_j(w_j g_j x_j)),  dw_i += g_i x_i r.
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                                dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, n: Int, c: Int) {
        for t in 0..<n {
            let g = dout + t * c, x = inp + t * c
            let r = rstd[t]
            if let dweight {
                for i in 0..<c { dweight[i] += g[i] * x[i] * r }
            }
            guard let dinp else { continue }
            var dot: Float = 0
            for i in 0..<c { dot += weight[i] * g[i] * x[i] }
            let k = dot * r * r / Float(c)
            let dx = dinp + t * c
            for i in 0..<c { dx[i] += r * (weight[i] * g[i] - x[i] * k) }
        }
    }
}
