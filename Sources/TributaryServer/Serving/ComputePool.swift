import Foundation

/// Runs blocking model computation (probe, verification, release assembly, scoring, generation) on
/// its own threads, at most `width` at a time, so it never ties up the cooperative threads that serve
/// HTTP. At most `queue` requests of each lane wait beyond those running; the next gets 503 `api.busy`
/// at once rather than a stall of every route. The server's own work (startup, releases) is never refused.
///
/// Two lanes, because their costs differ by two orders of magnitude: a routing query takes about a
/// millisecond, an upload's verification (the public probe) hundreds. Each lane has its own threads
/// and its own admission count, so a burst of uploads cannot starve routing (measured: with one
/// lane, 20 uploaders cut answered routing queries from 605/s to 81/s) and a flood of routing
/// queries cannot starve uploads (measured: with one queue and routing first, uploads timed out);
/// the operating system shares the cores between the lanes' running threads (RELIABILITY.md).
///
/// A third lane, `releases`, runs the server's own release work (assembly, loading): a release after
/// an opt-out must not wait behind a flood of scoring and generation (it waited 21 s while 66 answers
/// still came from the withdrawn expert).
public final class ComputePool: @unchecked Sendable {
    public enum Lane: Sendable, CaseIterable { case interactive, bulk, releases }

    private let operations: [Lane: OperationQueue]
    private let lock = NSLock()
    private var admitted: [Lane: Int] = [.interactive: 0, .bulk: 0, .releases: 0]
    public let width: Int
    public let queue: Int

    public init(width: Int, queue: Int = 8) {
        self.width = max(1, width)
        self.queue = max(0, queue)
        var queues = [Lane: OperationQueue]()
        for lane in Lane.allCases {
            let q = OperationQueue()
            q.maxConcurrentOperationCount = self.width
            q.qualityOfService = .userInitiated
            queues[lane] = q
        }
        operations = queues
    }

    /// `ownWork`: the server's own work (startup, releases), never refused. `abandoned`, asked when the
    /// work is about to start: true when whoever asked for it has gone (it is then dropped, not run).
    public func run<T: Sendable>(_ lane: Lane = .bulk, ownWork: Bool = false, abandoned: (@Sendable () -> Bool)? = nil,
                                 _ work: @escaping @Sendable () throws -> T) async throws -> T {
        if !ownWork {
            let ok = lock.withLock {
                guard admitted[lane, default: 0] < width + queue else { return false }
                admitted[lane, default: 0] += 1
                return true
            }
            guard ok else { throw ServerError.busy("\(width + queue) computations of this kind are running or waiting, the most this server queues") }
        }
        return try await withCheckedThrowingContinuation { continuation in
            operations[lane]!.addOperation { [self] in
                let result = Result {
                    if abandoned?() == true { throw ServerError.clientGone }
                    return try work()
                }
                if !ownWork { lock.withLock { admitted[lane, default: 0] -= 1 } }
                continuation.resume(with: result)
            }
        }
    }

    /// Requests running or waiting, both lanes.
    public var load: Int { lock.withLock { admitted.values.reduce(0, +) } }
}
