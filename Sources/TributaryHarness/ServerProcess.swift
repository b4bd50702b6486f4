import Foundation
import TributaryAPI
import TributaryClient
import TributaryCore
#if canImport(Glibc)
import Glibc
#endif

/// `tributary serve` as a child process on loopback: started, waited for until it answers, and
/// stopped gently (SIGTERM) or killed outright (SIGKILL), which is what the fault drill does to it.
public final class ServerProcess: @unchecked Sendable {
    public let binary: String
    /// The subcommand: `serve`, or `witness serve` for a witness.
    public let command: [String]
    public let arguments: [String]
    public let port: Int
    public let logFile: String
    private var process: Process?
    private let lock = NSLock()

    public var url: String { "http://127.0.0.1:\(port)" }

    /// `arguments` are the command's options without `--port`, which is added.
    public init(binary: String, command: [String] = ["serve"], arguments: [String], port: Int, logFile: String) {
        self.binary = binary
        self.command = command
        self.arguments = arguments
        self.port = port
        self.logFile = logFile
    }

    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
    public var processIdentifier: Int32? { lock.withLock { process?.processIdentifier } }

    /// Starts the server and returns once `/healthz` answers, with the seconds that took. If the
    /// process exits first, the error carries the end of its log.
    @discardableResult
    public func start(timeout: Double = 120) async throws -> Double {
        let t0 = Date()
        if !FileManager.default.fileExists(atPath: logFile) { FileManager.default.createFile(atPath: logFile, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logFile) else { throw TributaryError("demo.server_log", "cannot write \(logFile)") }
        log.seekToEndOfFile()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = command + arguments + ["--port", String(port)]
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? log.close()
        lock.withLock { process = p }
        var client = try TributaryClient(server: url)
        client.timeoutSeconds = 2
        while Date().timeIntervalSince(t0) < timeout {
            guard p.isRunning else {
                throw TributaryError("demo.server_exited", "the server exited with status \(p.terminationStatus) while starting:\n\(logTail())")
            }
            if (try? await client.send(.GET, APIPath.healthz)) != nil { return Date().timeIntervalSince(t0) }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        kill()
        throw TributaryError("demo.server_timeout", "the server did not answer within \(Int(timeout)) s:\n\(logTail())")
    }

    /// SIGKILL: no chance to flush, close or clean anything, as in a power cut or OOM kill.
    public func kill() {
        guard let p = lock.withLock({ process }) else { return }
        if p.isRunning { _ = Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        lock.withLock { process = nil }
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    public func stop(grace: Double = 10) {
        guard let p = lock.withLock({ process }) else { return }
        if p.isRunning {
            p.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while p.isRunning && Date() < deadline { usleep(20_000) }
        }
        kill()
    }

    public func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// A TCP port on loopback nobody listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TributaryError("demo.port", "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw TributaryError("demo.port", "could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
