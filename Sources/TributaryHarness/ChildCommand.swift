import Foundation
import TributaryCore

/// Runs one `tributary` subcommand as its own process, as a data owner, operator or auditor would on
/// their own machine. Output is either shown as it comes (training's progress line) or captured and
/// returned; a failure carries the command line and the end of its output.
public struct ChildCommand: Sendable {
    public let binary: String
    public init(binary: String) { self.binary = binary }

    /// The command line as a person would type it (for logs and the report).
    public static func display(_ arguments: [String]) -> String {
        "tributary " + arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    /// Runs `arguments`, showing output on this terminal (`showOutput`) or capturing it.
    @discardableResult
    public func run(_ arguments: [String], showOutput: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        if showOutput {
            p.standardOutput = FileHandle.standardError
            p.standardError = FileHandle.standardError
        } else {
            p.standardOutput = pipe
            p.standardError = pipe
        }
        try p.run()
        // Read before waiting: a child that fills the pipe would otherwise never exit.
        let output = showOutput ? "" : String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationReason == .exit, p.terminationStatus == 0 else {
            let tail = output.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
            throw TributaryError("demo.step_failed", "\(Self.display(arguments)) failed (status \(p.terminationStatus))" + (tail.isEmpty ? "" : ":\n" + tail))
        }
        return output
    }

    /// Runs a command that prints one JSON value (`--json`) and parses it.
    public func json(_ arguments: [String]) throws -> JSONValue {
        let out = try run(arguments)
        // Only the last line is the JSON document; progress may precede it.
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw TributaryError("demo.bad_output", "\(Self.display(arguments)) printed no JSON:\n\(out)")
        }
        return try StrictJSONParser.parse(Array(line.utf8))
    }
}
