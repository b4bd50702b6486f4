import ArgumentParser
import Foundation
import TributaryAudit
import TributaryClient
import TributaryCommandLine
import TributaryAPI
import TributaryCore
import TributaryLog
import TributaryModel

/// Counts what a tile reader downloads.
actor ByteCounter {
    var bytes = 0, requests = 0
    func add(_ n: Int) { bytes += n; requests += 1 }
    func reset() { bytes = 0; requests = 0 }
}

/// The log read through the proof API and through tiles, side by side on one server: what an
/// audit's log phase costs each way, and what one proof costs in bytes.
struct BenchTilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-tiles",
        abstract: "Read a server's whole log through the API and through tiles; time both, and count bytes per proof.")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The log's verifier key (or a file with it).") var logKey: String
    @Option(help: "Proofs sampled for the per-proof figures.") var samples = 200

    func run() async throws {
        try await reportingErrors {
            let client = try TributaryClient(server: server)
            let cp = try Checkpoint.verify(note: try await client.checkpoint(), key: try loadVerifierKey(logKey))
            let counter = ByteCounter()
            let reader = TileLogReader { path in
                let body = try await client.send(.GET, "/" + path.path, limit: TilePath.fullWidth * (2 + Tiles.maxEntrySize)).body
                await counter.add(body.count)
                return body
            }
            // 1. The log phase of a first audit: every entry, and the root recomputed over them.
            func replay(_ entries: [[UInt8]]) throws {
                let tree = MemoryTree()
                for e in entries { tree.append(entry: e) }
                guard tree.root() == cp.root else { throw TributaryError("bench.proof", "the entries do not produce the checkpoint's root") }
            }
            var t0 = ProgressReporter.now()
            try replay(try await ServerLogSource(client: client).entries(start: 0, end: cp.size))
            let api = ProgressReporter.now() - t0
            t0 = ProgressReporter.now()
            try replay(try await reader.entries(start: 0, end: cp.size))
            let tiles = ProgressReporter.now() - t0
            let bundleBytes = await counter.bytes, bundleRequests = await counter.requests
            print(String(format: "log of %llu entries, read whole and its root recomputed:", cp.size))
            print(String(format: "  proof API (pages of 1000 entries, JSON/base64):  %7.2f s", api))
            print(String(format: "  tiles (entry bundles of 256, %d requests, %.1f MB): %7.2f s  (%.2fx the API's time)",
                         bundleRequests, Double(bundleBytes) / 1e6, tiles, tiles / api))
            // 2. One proof each way: bytes on the wire and time.
            var rng = SystemRandomNumberGenerator()
            var apiBytes = 0, tileBytes = 0, tileRequests = 0, apiTime = 0.0, tileTime = 0.0
            var consistencyAPIBytes = 0, consistencyTileBytes = 0
            for _ in 0..<samples {
                let index = UInt64.random(in: 0..<cp.size, using: &rng)
                var t = ProgressReporter.now()
                let viaAPI = try await client.send(.GET, APIPath.inclusionProof(index: index, size: cp.size))
                apiTime += ProgressReporter.now() - t
                apiBytes += viaAPI.body.count
                await counter.reset()
                t = ProgressReporter.now()
                let proof = try await reader.inclusionProof(index: index, size: cp.size)
                tileTime += ProgressReporter.now() - t
                tileBytes += await counter.bytes
                tileRequests += await counter.requests
                guard proof == (try InclusionProofAnswer(json: try StrictJSONParser.parse(viaAPI.body)).proof) else {
                    throw TributaryError("bench.proof", "the tiles' inclusion proof of \(index) differs from the API's")
                }
                let first = UInt64.random(in: 1...cp.size, using: &rng)
                consistencyAPIBytes += try await client.send(.GET, APIPath.consistencyProof(first: first, second: cp.size)).body.count
                await counter.reset()
                _ = try await reader.consistencyProof(first: first, second: cp.size)
                consistencyTileBytes += await counter.bytes
            }
            let n = Double(samples)
            print(String(format: "inclusion proof, mean of %d (no tile cache between proofs):", samples))
            print(String(format: "  proof API: %7.0f bytes  %6.2f ms", Double(apiBytes) / n, apiTime / n * 1000))
            print(String(format: "  tiles:     %7.0f bytes  %6.2f ms  (%.1f tiles; %.0fx the API's bytes)",
                         Double(tileBytes) / n, tileTime / n * 1000, Double(tileRequests) / n, Double(tileBytes) / Double(max(apiBytes, 1))))
            print(String(format: "consistency proof, mean: proof API %.0f bytes, tiles %.0f bytes", Double(consistencyAPIBytes) / n, Double(consistencyTileBytes) / n))
        }
    }
}

/// Latency of appends whose checkpoints the witnesses must cosign, against the same appends on a
/// server without witnesses (run it against each).
struct BenchWitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-witness",
        abstract: "Time operator enrolments (one log append and its checkpoint each) and count the cosignatures on each answer.")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key.") var operatorKey: String
    @Option var count = 50
    @Option(help: "A label for the printed line.") var label = "server"

    func run() async throws {
        try await reportingErrors {
            let client = try TributaryClient(server: server)
            let op = try loadSigningKey(operatorKey)
            var times = [Double](), cosigned = 0
            for i in 0..<count {
                let key = try SigningKey.generate(name: "bench\(i)-" + Hex.encode(secureRandomBytes(3)))
                let t = ProgressReporter.now()
                let r = try await client.enrol(key.verifierKey, operatorKey: op)
                times.append(ProgressReporter.now() - t)
                if try SignedNote.parse(Array(r.checkpoint.utf8)).signatures.count > 1 { cosigned += 1 }
            }
            times.sort()
            print(String(format: "%@: %d appends, p50 %.1f ms, p99 %.1f ms; %d answers carried cosignatures", label, count,
                         times[count / 2] * 1000, times[min(count - 1, count * 99 / 100)] * 1000, cosigned))
        }
    }
}
