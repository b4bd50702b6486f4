import Foundation

/// Requests waiting for a worker that serves them in batches (`RouteBatcher`, `GenerationEngine`):
/// at most `limit` wait — the next is refused with 503 `api.busy` at once — and one worker runs while
/// any request is waiting or being served; the request that finds none running starts it. The worker
/// takes requests, and says when it stops, under the same lock the requests enter by, so no request
/// is ever left waiting with no worker.
final class WaitingLine<Item>: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var items: [Item] = []
    private var working = false

    init(limit: Int) { self.limit = limit }

    /// Enters the request `make` builds around its answer, and waits for the answer; `busy` is the
    /// refusal's message when the line is full. `work` is started when no worker runs.
    func enter<T>(busy: String, _ make: (CheckedContinuation<T, Error>) -> Item,
                  work: @escaping @Sendable () async -> Void) async throws -> T {
        try await withCheckedThrowingContinuation { answer in
            let admitted = lock.withLock { () -> Bool? in
                guard items.count < limit else { return nil }
                items.append(make(answer))
                if working { return false }
                working = true
                return true
            }
            switch admitted {
            case nil: answer.resume(throwing: ServerError.busy(busy))
            case true?: Task { await work() }
            case false?: break
            }
        }
    }

    /// For the worker: `body` takes what it serves from the waiting requests and says whether the
    /// worker stops (it must then return: the next request to enter starts a new one).
    func take<R>(_ body: (inout [Item]) -> (taken: R, stop: Bool)) -> R {
        lock.withLock {
            let (taken, stop) = body(&items)
            if stop { working = false }
            return taken
        }
    }
}
