import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Tools for Tributary's own developers.", shouldDisplay: false,
        subcommands: [TestVectorsCommand.self, BLASInfoCommand.self])
}

struct TestVectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-vectors", abstract: "Regenerate protocol/test-vectors from the fixed seeds.")

    @Option(help: "Output directory.") var out = "protocol/test-vectors"

    func run() async throws {
        try await reportingErrors {
            try TestVectors.write(to: out)
            for f in TestVectors.files { print("\(out)/\(f)") }
        }
    }
}

struct BLASInfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas-info", abstract: "Show which OpenBLAS kernels this process runs.")

    func run() async throws {
        prepareCompute()
        print("core: \(BLASThreads.coreName)")
        print("config: \(BLASThreads.config)")
        print("threads: \(BLASThreads.current)")
        print("decision: \(BLASCoreType.decision())")
        print("OPENBLAS_CORETYPE: \(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
    }
}
