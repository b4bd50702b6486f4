import Foundation
import TributaryCore
@_exported import TributaryTestSupport

struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// The code in `error[code]: ...`, if the command failed with one.
    var errorCode: String? {
        guard let r = stderr.range(of: #"error\[([a-z0-9_.]+)\]"#, options: .regularExpression) else { return nil }
        return String(stderr[r].dropFirst(6).dropLast())
    }
}

@discardableResult
func tributary(_ args: String..., cwd: String? = nil) throws -> CLIResult {
    try tributary(args, cwd: cwd)
}

@discardableResult
func tributary(_ args: [String], cwd: String? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tributaryBinary)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Names, sizes and digests of every file under `dir` (symlinks by target).
func snapshot(_ dir: String) -> [String: String] {
    var out = [String: String]()
    guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
    while let rel = e.nextObject() as? String {
        let p = dir + "/" + rel
        var st = stat()
        guard lstat(p, &st) == 0 else { continue }
        switch st.st_mode & S_IFMT {
        case S_IFREG: out[rel] = Hex.encode(SHA256.digest(FileManager.default.contents(atPath: p) ?? Data())) + " \(st.st_mode & 0o777)"
        case S_IFLNK: out[rel] = "link " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: p)) ?? "")
        default: out[rel] = "dir"
        }
    }
    return out
}

func safetensorsBytes(header: String, data: Int = 0, claimedLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = claimedLength ?? UInt64(h.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + [UInt8](repeating: 0, count: data)
}
