import ArgumentParser
import Foundation
import TributaryCore
import TributaryModel

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Tools for Tributary's own developers.", shouldDisplay: false,
        subcommands: [TestVectorsCommand.self, BLASInfoCommand.self, LogitsCommand.self])
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

struct LogitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Print a model's logits for token ids as JSON (for interop checks).")

    @Option(help: "Model directory.") var model: String
    @Option(help: "Comma-separated token ids.") var tokens: String

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let m = try ModelDirectory.load(model)
            let ids = try tokens.split(separator: ",").map { s -> Int32 in
                guard let v = Int32(s), v >= 0, Int(v) < m.config.vocabSize else { throw ValidationError("bad token id \(s)") }
                return v
            }
            let logits = ModelInference.logits(model: m, tokens: ids)
            printJSON(.object([("logits", .array(logits.map { .array($0.map { .double(Double($0)) }) }))]))
        }
    }
}
