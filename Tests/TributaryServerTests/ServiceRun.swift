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

/// The threads the test services run on: their HTTP handlers (the service task's executor
/// preference, which Hummingbird's connection tasks inherit) and the servers' own loops
/// (`ServerConfig.taskExecutor`). The test process also runs training and evaluation synchronously
/// on the cooperative pool (two threads on a 2-core machine); a server whose handlers or loops waited
/// behind them missed its deadlines (CI saw an idle-timed connection left open 15 s, an upload cut
/// mid-body, a witnessed checkpoint not published in 30 s, a release lease not renewed in 30 s).
/// Plain threads, not a dispatch queue: libdispatch runs a concurrent queue's CPU-bound jobs on at
/// most as many threads as cores, so a dispatch queue starves the same way (a CI run that put the
/// test bodies there timed out 27 uploads). These threads wait on a condition; the kernel schedules
/// them beside the CPU-bound tests.
final class ServerThreads: TaskExecutor, @unchecked Sendable {
    static let shared = ServerThreads(threads: 16)
    private let condition = NSCondition()
    private var jobs = [UnownedJob]()
    private var next = 0

    private init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "tributary.test.services.\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    private func work() {
        while true {
            let job = condition.withLock {
                while next == jobs.count { condition.wait() }
                let job = jobs[next]
                next += 1
                if next == jobs.count { jobs.removeAll(keepingCapacity: true); next = 0 }
                return job
            }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
