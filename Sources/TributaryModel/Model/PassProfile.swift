import Foundation

/// Where a forward/backward pass spends its time, for `tributary-dev bench-train --profile` and
/// `bench-eval --profile`: thread time per part of the pass, summed over the workers. Off unless a
/// benchmark switches it on; then every timed call costs two clock reads and a lock.
public enum PassProfile {
    public enum Part: Int, CaseIterable, Sendable {
        /// lm_head (the 49k-way product for SmolLM2) and the cross-entropy over it, both directions.
        case outputHead
        /// RoPE and the attention kernel (scores, softmax, weighted values), both directions.
        case attention
        /// The q/k/v and output projections.
        case projections
        /// The feed-forward blocks: dense SwiGLU MLPs and MoE blocks (router, experts, mixing).
        case feedForward
        /// RMSNorm and the residual copies.
        case normsAndResiduals

        public var name: String {
            switch self {
            case .outputHead: return "output head + loss"
            case .attention: return "attention (RoPE, scores, softmax, values)"
            case .projections: return "q/k/v and output projections"
            case .feedForward: return "feed-forward (MLP / MoE)"
            case .normsAndResiduals: return "RMSNorm and residual copies"
            }
        }
    }

    nonisolated(unsafe) public static var enabled = false
    private static let lock = NSLock()
    nonisolated(unsafe) private static var seconds = [Double](repeating: 0, count: Part.allCases.count)

    @inline(__always)
    static func time<T>(_ part: Part, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = body()
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        lock.lock()
        seconds[part.rawValue] += dt
        lock.unlock()
        return r
    }

    public static func reset() {
        lock.lock()
        seconds = [Double](repeating: 0, count: Part.allCases.count)
        lock.unlock()
    }

    /// Thread seconds per part since the last reset.
    public static func snapshot() -> [(part: Part, seconds: Double)] {
        lock.lock()
        defer { lock.unlock() }
        return Part.allCases.map { ($0, seconds[$0.rawValue]) }
    }
}
