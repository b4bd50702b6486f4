import Foundation
import Testing
import TributaryCore
import TributaryTestSupport

/// Issue 25: `tributary train` with the default options was killed by the kernel at 23.5 GB on
/// SmolLM2. It now sizes itself to a memory budget, refuses a run that cannot fit before it starts,
/// and reads its corpus a document at a time: 64 MB of text trains in the memory 1 MB does.
@Suite(.serialized) struct TrainMemoryCLITests {
    /// `count` documents of `bytes` each, of varied text, under `dir`.
    static func corpus(_ dir: String, count: Int, bytes: Int) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let words = ["struct", "int", "return", "the", "kernel", "buffer", "size", "len", "if", "else", "for", "while", "{", "}", ";", "\n"]
        var rng = SystemRandomNumberGenerator()
        for i in 0..<count {
            var text = [UInt8]()
            text.reserveCapacity(bytes)
            while text.count < bytes { text += Array((words[Int(rng.next() % UInt64(words.count))] + " ").utf8) }
            try Data(text.prefix(bytes)).write(to: URL(fileURLWithPath: dir + "/doc\(i).txt"))
        }
    }

    /// Memory is measured, not routing: --min-self-routing 0, since whether random text's signature
    /// routes under fresh DP noise is chance.
    func train(_ anchor: String, data: String, out: String, extra: [String] = []) throws -> CLIResult {
        try tributary(["train", "--anchor", anchor, "--data", data, "--out", out, "--steps", "2", "--batch", "4", "--seq-len", "32",
                       "--held-out", "0", "--eval-bytes", "0", "--max-document-bytes", String(1 << 20), "--min-self-routing", "0",
                       "--quiet", "--json", "--restart"] + extra)
    }

    @Test func sixtyFourMegabytesTrainInTheMemoryOfOne() async throws {
        let deployment = try await DrillTests.deployment.value
        let dir = TempDir()
        try Self.corpus(dir.file("small"), count: 64, bytes: 16_384)
        try Self.corpus(dir.file("large"), count: 64, bytes: 1 << 20)
        let small = try train(deployment.anchor, data: dir.file("small"), out: dir.file("out-small"))
        let large = try train(deployment.anchor, data: dir.file("large"), out: dir.file("out-large"))
        #expect(small.status == 0 && large.status == 0, "\(small.stderr)\n\(large.stderr)")
        let a = try StrictJSONParser.parse(Array(small.stdout.utf8))["peakRSSMiB"]?.doubleValue ?? 0
        let b = try StrictJSONParser.parse(Array(large.stdout.utf8))["peakRSSMiB"]?.doubleValue ?? 0
        // Held in memory, 64 MB of text would add 64 MiB of bytes and 256 MiB of token ids.
        #expect(a > 0 && b - a < 40, "peak memory: \(a) MiB on 1 MB of text, \(b) MiB on 64 MB")
        print("train peak memory: \(Int(a)) MiB on 1 MB of text, \(Int(b)) MiB on 64 MB")
    }

    /// Sizes that cannot fit the budget are refused before anything is allocated or written, with
    /// options that fit.
    @Test func aRunBeyondTheMemoryBudgetIsRefusedWithOptionsThatFit() async throws {
        let deployment = try await DrillTests.deployment.value
        let dir = TempDir()
        try Self.corpus(dir.file("data"), count: 40, bytes: 2000)
        let r = try tributary(["train", "--anchor", deployment.anchor, "--data", dir.file("data"), "--out", dir.file("out"), "--steps", "2",
                               "--batch", "64", "--seq-len", "64", "--memory-budget", String(220 << 20)])
        #expect(r.status == 1 && r.errorCode == "train.memory", "\(r.stderr)")
        #expect(r.stderr.contains("--batch") && r.stderr.contains("--seq-len"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")), "a refused run left files")
    }
}
