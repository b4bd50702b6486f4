import Foundation
import TributaryModel

/// Routing queries that arrive together share one anchor forward pass. The first query to find the
/// batcher idle waits `window` for others; then batches run one after another, each taking every
/// query waiting (up to `maxTokens` tokens, at least one query), while the next batch collects the
/// queries that arrive meanwhile. A query waits at most the window plus the batch before it, and
/// each batch runs on every core (`workers`): one query alone keeps one core, several fill both.
///
/// At most `maxWaiting` queries wait for the next batch; the next gets 503 `api.busy` at once (the
/// admission `ComputePool` gives every other kind of work). A query whose client has gone is dropped
/// when its batch starts.
final class RouteBatcher: @unchecked Sendable {
    struct Query {
        let texts: [String]
        let tokens: Int
        let release: LoadedRelease
        let abandoned: (@Sendable () -> Bool)?
        let answer: CheckedContinuation<[Float], Error>
    }

    let window: Duration
    let maxTokens: Int
    let workers: Int
    private let pool: ComputePool
    private let line: WaitingLine<Query>
    private let lock = NSLock()   // guards passCount
    private var passCount = 0

    /// Anchor passes run so far (each serving one or more queries).
    var passes: Int { lock.withLock { passCount } }

    init(pool: ComputePool, windowMilliseconds: Int, maxTokens: Int, maxWaiting: Int, workers: Int) {
        self.pool = pool
        window = .milliseconds(windowMilliseconds)
        self.maxTokens = maxTokens
        line = WaitingLine(limit: maxWaiting)
        self.workers = workers
    }

    /// The points of `texts` ([texts × d] row-major) in `release`'s signature space; `tokens` is what
    /// they embed (the caller has checked it against the per-request bound).
    func embed(_ texts: [String], tokens: Int, release: LoadedRelease, abandoned: (@Sendable () -> Bool)?) async throws -> [Float] {
        try await line.enter(busy: "\(line.limit) routing queries are waiting for the next batch, the most this server queues", {
            Query(texts: texts, tokens: tokens, release: release, abandoned: abandoned, answer: $0)
        }, work: { await self.drain() })
    }

    private func drain() async {
        if window > .zero { try? await Task.sleep(for: window) }
        while true {
            let batch = line.take { waiting -> (taken: [Query], stop: Bool) in
                guard let first = waiting.first else { return ([], true) }
                // Queries of the first one's release, in arrival order, up to the token bound.
                var taken = [Int](), tokens = 0
                for (i, q) in waiting.enumerated() where q.release.manifest.release == first.release.manifest.release {
                    if !taken.isEmpty && tokens + q.tokens > maxTokens { break }
                    taken.append(i)
                    tokens += q.tokens
                }
                let out = taken.map { waiting[$0] }
                for i in taken.reversed() { waiting.remove(at: i) }
                return (out, false)
            }
            if batch.isEmpty { return }
            await run(batch)
        }
    }

    private func run(_ batch: [Query]) async {
        var live = [Query]()
        for q in batch {
            if q.abandoned?() == true { q.answer.resume(throwing: ServerError.clientGone) } else { live.append(q) }
        }
        guard let r = live.first?.release else { return }
        lock.withLock { passCount += 1 }
        let texts = live.flatMap(\.texts), workers = workers
        do {
            let points = try await pool.run(.interactive, ownWork: true) { r.index.space.embed(model: r.anchor, texts: texts, workers: workers) }
            let d = r.index.space.dimension
            var at = 0
            for q in live {
                q.answer.resume(returning: Array(points[at * d..<(at + q.texts.count) * d]))
                at += q.texts.count
            }
        } catch {
            for q in live { q.answer.resume(throwing: error) }
        }
    }
}
