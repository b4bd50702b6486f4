import ArgumentParser
import Foundation
import TributaryCore

/// Runs a command body and turns any error into `error[code]: message` on stderr and exit status 1,
/// so scripts can tell failures apart by code and people can read what went wrong.
public func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as CodedError {
        printError("error[\(e.code)]: \(e.message)")
        throw ExitCode(1)
    } catch let e as ValidationError {
        throw e
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

public func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

public func printJSON(_ value: JSONValue) {
    print(JSONWriter.string(value))
}

/// The path of the running executable, to start child processes of the same build from.
public func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
