import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel

/// For the leakage audit's experiments: a copy of an owner's documents with canaries planted
/// (`CanaryExposure`'s format), each into as many distinct documents as it is to be repeated.
struct PlantCanariesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plant-canaries",
        abstract: "Copy documents into a directory with random canaries appended to some of them; writes canaries.json.")

    @Option(parsing: .upToNextOption, help: "The owner's documents (files or directories).") var data: [String]
    @Option(help: "Output directory (must not exist); the secrets go beside it, to OUT.canaries.json, never into the data.") var out: String
    @Option(parsing: .upToNextOption, help: "How many documents each canary goes into (one canary per value).") var repetitions: [Int] = [1, 10]
    @Option(help: "Seed of the secrets and of which documents hold them (keep it secret in a real audit).") var seed: UInt64 = 1
    @OptionGroup var corpusOptions: CorpusOptions

    func run() async throws {
        try await reportingErrors {
            guard !FileManager.default.fileExists(atPath: out) else { throw TributaryError("bench.canaries_exist", "\(out) exists; choose a new directory") }
            let corpus = try corpusOptions.load(data)
            var rng = RNG(seed: seed)
            var texts = corpus.documents.map(\.bytes)
            let planted = try CanaryExposure.plant(into: &texts, repetitions: repetitions, rng: &rng)
            // Written under a temporary name and renamed: a failed run leaves no half directory.
            let staging = out + ".partial-\(getpid())"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            do {
                for (i, t) in texts.enumerated() { try Data(t).write(to: URL(fileURLWithPath: staging + String(format: "/%06d.txt", i))) }
                let canaries = planted.map { p in
                    JSONValue.object([("secret", .string(p.secret)), ("repetitions", .int(p.repetitions)),
                                      ("documents", .array(p.documents.map { .string(corpus.documents[$0].source) }))])
                }
                try AtomicFileWriter.write(JSONWriter.serialize(.object([("canaries", .array(canaries))])) + [0x0a], to: out + ".canaries.json")
                try FileManager.default.moveItem(atPath: staging, toPath: out)
            } catch {
                try? FileManager.default.removeItem(atPath: staging)
                throw error
            }
            print("planted \(planted.count) canaries into copies of \(texts.count) documents in \(out); secrets in \(out).canaries.json")
            print(planted.map { "--canary \($0.secret):\($0.repetitions)" }.joined(separator: " "))
        }
    }
}
