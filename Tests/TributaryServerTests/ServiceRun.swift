import Dispatch
import Testing
import Foundation
import Logging
import ServiceLifecycle

/// Runs a test's HTTP application in a ServiceGroup, as `tributary serve` does, and stops it
/// gracefully: the listener closes before anything is torn down. Cancelling the running task instead
/// let a connection be accepted while the application was being torn down, and NIO traps on that
/// ("Deinited NIOAsyncWriter without calling finish()"), which took the whole test process down.
final class ServiceRun: @unchecked Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    init(_ service: some Service, logger: Logger = Logger(label: "tributary.test.service")) {
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        self.group = group
        task = Task(executorPreference: ServerThreads.shared) { try await group.run() }
    }

    /// Graceful shutdown; the run is cancelled if connections still hold it after `grace` seconds.
    func stop(grace: Double = 5) async {
        await group.triggerGracefulShutdown()
        let running = task
        let deadline = Task {
            try await Task.sleep(nanoseconds: UInt64(grace * 1e9))
            running.cancel()
        }
        _ = try? await running.value
        deadline.cancel()
    }
}

/// The threads the test services run on. The test process also runs training and evaluation
/// synchronously on the cooperative pool (two threads on a 2-core machine); a server whose handlers
/// waited behind them missed its own deadlines (CI runs saw an idle-timed connection left open 15 s
/// and an upload cut mid-body). A task executor preference moves the service's task and its child
/// tasks (Hummingbird's connection handlers) onto dispatch threads, which the kernel schedules
/// beside the CPU-bound work instead of behind it.
final class ServerThreads: TaskExecutor, @unchecked Sendable {
    static let shared = ServerThreads()
    private let queue = DispatchQueue(label: "tributary.test.services", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs a suite's tests, and every task they start (the server's witnessing, release and lease
/// loops are unstructured tasks, which inherit the preference), on `ServerThreads`. Without it a
/// server built from a test body kept its background loops on the cooperative pool, and while
/// other suites trained there CI saw a witnessed checkpoint not published within 30 s and a
/// release lease not renewed within its 30 s.
struct OnServerThreads: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(ServerThreads.shared) { try await function() }
    }
}

extension Trait where Self == OnServerThreads {
    static var onServerThreads: Self { OnServerThreads() }
}
