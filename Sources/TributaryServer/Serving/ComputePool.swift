import Foundation

/// Runs blocking model computation (probe, release assembly, scoring) on its own threads, at most
/// `width` at a time, so it never ties up the cooperative threads that serve HTTP.
public final class ComputePool: @unchecked Sendable {
    private let queue: OperationQueue

    public init(width: Int) {
        queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, width)
        queue.qualityOfService = .userInitiated
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.addOperation { continuation.resume(with: Result { try work() }) }
        }
    }
}
