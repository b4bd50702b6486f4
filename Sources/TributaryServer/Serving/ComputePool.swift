import Foundation

/// Runs blocking model computation (probe, verification, release assembly, scoring, generation) on
/// its own threads, at most `width` at a time, so it never ties up the cooperative threads that serve
/// HTTP. At most `queue` requests wait beyond those running; the next gets 503 `api.busy` at once
/// rather than a stall of every route. The server's own work (startup, releases) is never refused.
public final class ComputePool: @unchecked Sendable {
    private let operations: OperationQueue
    private let lock = NSLock()
    private var admitted = 0
    public let width: Int
    public let queue: Int

    public init(width: Int, queue: Int = 8) {
        self.width = max(1, width)
        self.queue = max(0, queue)
        operations = OperationQueue()
        operations.maxConcurrentOperationCount = self.width
        operations.qualityOfService = .userInitiated
    }

    /// `ownWork`: the server's own work (startup, releases), never refused.
    public func run<T: Sendable>(ownWork: Bool = false, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        if !ownWork {
            let ok = lock.withLock {
                guard admitted < width + queue else { return false }
                admitted += 1
                return true
            }
            guard ok else { throw ServerError.busy("\(width) computations are running and \(queue) waiting, the most this server queues") }
        }
        return try await withCheckedThrowingContinuation { continuation in
            operations.addOperation { [self] in
                let result = Result { try work() }
                if !ownWork { lock.withLock { admitted -= 1 } }
                continuation.resume(with: result)
            }
        }
    }

    /// Requests running or waiting.
    public var load: Int { lock.withLock { admitted } }
}
