import Dispatch

/// Runs `body(0)`, ..., `body(n - 1)` concurrently and returns when all are done.
///
/// The kernels hand each index a disjoint slice of raw memory, which Swift's Sendable checking cannot
/// see; this is the one place that vouches for it, instead of every call site.
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n == 1 { return body(0) }
    withoutActuallyEscaping(body) { escapable in
        nonisolated(unsafe) let work = escapable
        DispatchQueue.concurrentPerform(iterations: n) { work($0) }
    }
}
