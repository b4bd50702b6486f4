import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryDemo
import TributaryDevTools

/// The `tributary` executable the drills start servers from: $TRIBUTARY_BIN, else the one built
/// next to this `tributary-dev`.
func productExecutable() throws -> String {
    if let p = ProcessInfo.processInfo.environment["TRIBUTARY_BIN"], !p.isEmpty { return p }
    let me = currentExecutable()
    let sibling = (me as NSString).deletingLastPathComponent + "/tributary"
    guard FileManager.default.isExecutableFile(atPath: sibling) else {
        throw TributaryError("drill.no_binary", "no tributary executable next to \(me); build it (swift build) or set TRIBUTARY_BIN")
    }
    return sibling
}

/// A scratch directory for a drill: `--workdir` if given (kept), else a temporary one (removed).
func drillDirectory(_ given: String?, label: String) throws -> (path: String, remove: Bool) {
    if let given {
        try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
        return (given, false)
    }
    let path = NSTemporaryDirectory() + "tributary-\(label)-" + Hex.encode(secureRandomBytes(6))
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return (path, true)
}

struct FaultDrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-drill",
        abstract: "Kill the server with SIGKILL under load, restart it, and check nothing acknowledged was lost (RELIABILITY.md).")

    @Option(help: "Kill/restart cycles.") var cycles = 50
    @Option(help: "Organisations uploading concurrently.") var uploaders = 4
    @Option(help: "Shortest load before a kill, seconds.") var minUptime = 0.2
    @Option(help: "Longest load before a kill, seconds.") var maxUptime = 1.5
    @Option var seed: UInt64 = 1
    @Option(help: "Work directory (kept); default: a temporary one, removed afterwards.") var workdir: String?

    func validate() throws {
        guard cycles > 0, uploaders > 0, minUptime > 0, maxUptime >= minUptime else { throw ValidationError("cycles and uploaders must be positive, 0 < min-uptime <= max-uptime") }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let (dir, remove) = try drillDirectory(workdir, label: "fault-drill")
            defer { if remove { try? FileManager.default.removeItem(atPath: dir) } }
            var o = FaultDrillOptions()
            o.cycles = cycles
            o.uploaders = uploaders
            o.uptime = minUptime...maxUptime
            o.seed = seed
            let report = try await FaultDrill(binary: try productExecutable(), work: dir, options: o).run { print($0) }
            print(report.text)
            if !report.passed { throw ExitCode(1) }
        }
    }
}

struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-test",
        abstract: "Many uploaders, routing clients and releases against one server; then verify everything acknowledged (RELIABILITY.md).")

    @Option(help: "Organisations uploading concurrently.") var uploaders = 20
    @Option(help: "Concurrent routing clients.") var routers = 200
    @Option(help: "Seconds of load.") var seconds = 180.0
    @Option var seed: UInt64 = 1
    @Option(help: "Work directory (kept); default: a temporary one, removed afterwards.") var workdir: String?

    func validate() throws {
        guard uploaders > 0, routers >= 0, seconds > 0 else { throw ValidationError("uploaders and seconds must be positive") }
    }

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let (dir, remove) = try drillDirectory(workdir, label: "load-test")
            defer { if remove { try? FileManager.default.removeItem(atPath: dir) } }
            var o = LoadTestOptions()
            o.uploaders = uploaders
            o.routers = routers
            o.seconds = seconds
            o.seed = seed
            let report = try await LoadTest(binary: try productExecutable(), work: dir, options: o).run { print($0) }
            print(report.text)
            if !report.passed { throw ExitCode(1) }
        }
    }
}
