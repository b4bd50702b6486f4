import COpenBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha * op(A) op(B) + beta * C,
/// op(A) is [m, k], op(B) is [k, n], C is [m, n]. Leading dimensions are row strides in elements.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    _ = BLASThreads.singleThreaded
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Row-major single-precision GEMV: y = alpha * A x + beta * y, A is [m, n] with row stride lda.
/// One token's linear layer (decoding): OpenBLAS 0.3.21's sgemm packs the whole weight matrix even
/// when A has one row, which doubles the memory traffic of a step that is memory-bound already.
@inline(__always)
public func sgemv(m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                  beta: Float = 0, y: UnsafeMutablePointer<Float>) {
    if m == 0 { return }
    _ = BLASThreads.singleThreaded
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
}

/// OpenBLAS's own threading is switched off for the whole process before the first GEMM: we shard
/// work across cores ourselves (`parallelFor`) and run single-threaded GEMMs inside each shard. That
/// measured faster at our sizes (see benchmarks/), keeps results independent of timing, and avoids
/// OpenBLAS 0.3.21's races when several threads call a multi-threaded GEMM at once.
public enum BLASThreads {
    static let singleThreaded: Void = { openblas_set_num_threads(1) }()
    public static var current: Int { Int(openblas_get_num_threads()) }
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }
}
