import Foundation
import Testing
import TributaryClient
import TributaryCore
import TributaryDemo
import TributaryLog
import TributaryHarness

/// `tributary witness serve` as a process: it keeps its state across SIGKILL at any moment, and
/// refuses to start without it.
@Suite(.serialized) struct WitnessCLITests {
    let logKey = try! SigningKey.generate(name: "cli.test/log")
    let tree = MemoryTree()

    func body(old: UInt64, size: UInt64) throws -> [UInt8] {
        while tree.size < size { tree.append(entry: Array("entry \(tree.size)".utf8)) }
        let proof = old == 0 ? [] : try MerkleTree.consistencyProof(first: old, second: size, store: tree)
        let note = try Checkpoint(origin: logKey.name, size: size, root: tree.root(size: size)).signed(by: logKey).serialized
        return AddCheckpointRequest(oldSize: old, proof: proof, checkpoint: Array(note.utf8)).body
    }

    /// The witness's size: what it answers to a request with old size 0 (409 with its size), or 0.
    func heldSize(_ client: TributaryClient) async throws -> UInt64 {
        do {
            _ = try await client.send(.POST, "/add-checkpoint", body: .bytes(try body(old: 0, size: 1)), contentType: "text/plain")
            return 0   // it had nothing, and now holds size 1 — callers only ask after a first cosignature
        } catch let e as RemoteError where e.status == 409 {
            guard let size = UInt64(e.message.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw TributaryError("test.witness", "409 without a size: \(e.message)")
            }
            return size
        }
    }

    @Test func stateSurvivesSigkillAndIsNeverRolledBack() async throws {
        let dir = TempDir("witness-cli")
        let keygen = try tributary("witness", "keygen", "--name", "witness.test/cli", "--key", dir.file("w.key"))
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let cosigner = try CosignerKey(parsing: try String(contentsOfFile: dir.file("w.key.pub"), encoding: .utf8))
        #expect(keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == cosigner.encoded)
        let args = ["--key", dir.file("w.key"), "--state", dir.file("state"), "--log", "\(logKey.name)=\(logKey.verifierKey.encoded)"]
        // No state yet and no --init: refused, and nothing is created.
        let refused = try tributary(["witness", "serve"] + args + ["--port", "0"])
        #expect(refused.status != 0 && refused.errorCode == "witness.state_lost", "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("state")))

        let port = try ServerProcess.freePort()
        let first = ServerProcess(binary: tributaryBinary, command: ["witness", "serve"], arguments: args + ["--init"], port: port, logFile: dir.file("w.log"))
        try await first.start()
        let client = try TributaryClient(server: first.url)
        let reply = try await client.send(.POST, "/add-checkpoint", body: .bytes(try body(old: 0, size: 3)), contentType: "text/plain")
        let sig = try AddCheckpointRequest.parseCosignatures(reply.body)
        #expect(sig.count == 1 && sig[0].keyID == cosigner.keyID)
        first.kill()
        // Restarts on the same state (without --init), killed at random moments, some while a
        // request is in flight: the size the witness holds never falls below what it acknowledged.
        let witness = ServerProcess(binary: tributaryBinary, command: ["witness", "serve"], arguments: args, port: port, logFile: dir.file("w.log"))
        var acknowledged: UInt64 = 3
        for cycle in 0..<4 {
            try await witness.start()
            let held = try await heldSize(client)
            #expect(held >= acknowledged, "cycle \(cycle): the witness holds \(held), it acknowledged \(acknowledged)")
            acknowledged = max(acknowledged, held)
            for _ in 0..<3 {
                let next = acknowledged + UInt64.random(in: 1...40)
                _ = try await client.send(.POST, "/add-checkpoint", body: .bytes(try body(old: acknowledged, size: next)), contentType: "text/plain")
                acknowledged = next
            }
            // One more request racing the SIGKILL.
            let racing = try body(old: acknowledged, size: acknowledged + 7)
            let inFlight = Task { try? await client.send(.POST, "/add-checkpoint", body: .bytes(racing), contentType: "text/plain") }
            try await Task.sleep(nanoseconds: UInt64.random(in: 0...3_000_000))
            witness.kill()
            if await inFlight.value != nil { acknowledged += 7 }
        }
        try await witness.start()
        #expect(try await heldSize(client) >= acknowledged)
        witness.kill()
        // The state directory lost: the witness does not start again under its key.
        try FileManager.default.removeItem(atPath: dir.file("state"))
        let lost = try tributary(["witness", "serve"] + args + ["--port", "0"])
        #expect(lost.status != 0 && lost.errorCode == "witness.state_lost", "\(lost.stderr)")
    }
}
