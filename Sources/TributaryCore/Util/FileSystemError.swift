import Foundation

/// A failed system call on a named path, with the errno text.
public struct FileSystemError: CodedError {
    public let code: String
    public let message: String

    public static func posix(_ call: String, _ path: String, _ err: Int32) -> FileSystemError {
        let text = String(cString: strerror(err))
        let code = err == ENOENT ? "io.not_found" : (err == ELOOP ? "io.symlink" : "io.error")
        return FileSystemError(code: code, message: "\(call) \(path): \(text)")
    }

    public static func other(_ path: String, _ what: String) -> FileSystemError {
        FileSystemError(code: "io.error", message: "\(path): \(what)")
    }
}
