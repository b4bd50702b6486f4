import ArgumentParser
import Foundation
import TributaryCore

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Tools for Tributary's own developers.", shouldDisplay: false,
        subcommands: [TestVectorsCommand.self])
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
