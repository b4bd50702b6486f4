import Foundation
import Testing
import TributaryCore
import TributaryLog
import TributaryTestSupport
@testable import TributaryWitness

/// A log in memory that signs checkpoints, and a witness following it.
struct Scene {
    let logKey = try! SigningKey.generate(name: "example.test/log")
    let witnessKey = try! SigningKey.generate(name: "witness.test/w1")
    let tree = MemoryTree()
    let dir = TempDir("witness")

    func grow(to size: Int) { while tree.size < UInt64(size) { tree.append(entry: Array("entry \(tree.size)".utf8)) } }

    func note(_ size: UInt64, root: [UInt8]? = nil, key: SigningKey? = nil) throws -> [UInt8] {
        let cp = Checkpoint(origin: logKey.name, size: size, root: root ?? tree.root(size: size))
        return Array(try cp.signed(by: key ?? logKey).serialized.utf8)
    }

    func request(old: UInt64, size: UInt64, root: [UInt8]? = nil, proof: [[UInt8]]? = nil, key: SigningKey? = nil) throws -> [UInt8] {
        let p = try proof ?? (old == 0 ? [] : MerkleTree.consistencyProof(first: old, second: size, store: tree))
        return AddCheckpointRequest(oldSize: old, proof: p, checkpoint: try note(size, root: root, key: key)).body
    }

    func witness(initialise: Bool = false, time: UInt64 = 1_700_000_000) throws -> Witness {
        let key = CosignerKey(signingKey: witnessKey)
        let state = initialise ? try WitnessState.initialise(dir.path, key: key) : try WitnessState.open(dir.path, key: key)
        return Witness(key: witnessKey, logs: [logKey.verifierKey], state: state, clock: { time })
    }
}

func expectRefusal(_ w: Witness, _ body: [UInt8], _ status: Int, _ label: String) async {
    do {
        _ = try await w.addCheckpoint(body)
        Issue.record("\(label): cosigned")
    } catch let e as WitnessError {
        #expect(e.status == status, "\(label): \(e.code) \(e.message)")
    } catch {
        Issue.record("\(label): \(error)")
    }
}

@Suite struct WitnessTests {
    /// Issue 25: an origin spelled with a canonically equivalent look-alike (U+212A KELVIN SIGN for
    /// "K") is another log, byte for byte. `String ==` called them equal, the state file did not:
    /// the witness cosigned a second history of the same log from size 0.
    @Test func aLookAlikeOriginIsNotTheLogItImitates() async throws {
        let logKey = try SigningKey.generate(name: "example.test/Klog")
        let tree = MemoryTree()
        for i in 0..<3 { _ = tree.append(entry: Array("entry \(i)".utf8)) }
        let dir = TempDir("witness-lookalike")
        let w = Witness(key: try SigningKey.generate(name: "witness.test/w1"), logs: [logKey.verifierKey],
                        state: try WitnessState.initialise(dir.path, key: CosignerKey(signingKey: try SigningKey.generate(name: "witness.test/w1"))),
                        clock: { 1_700_000_000 })
        let real = try Checkpoint(origin: logKey.name, size: 3, root: tree.root()).signed(by: logKey).serialized
        _ = try await w.addCheckpoint(AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: Array(real.utf8)).body)
        let lookAlike = "example.test/\u{212A}log"
        #expect(lookAlike == logKey.name, "Swift's String == is canonical equivalence: the premise of this test")
        let forkText = Checkpoint(origin: lookAlike, size: 3, root: [UInt8](repeating: 9, count: 32)).text
        let fork = try SignedNote.sign(text: forkText, with: logKey).serialized
        await expectRefusal(w, AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: Array(fork.utf8)).body, 404, "look-alike origin")
        // Nor does a checkpoint whose origin differs in bytes from its key's name verify as that log's.
        #expect(throws: CheckpointError.self) { _ = try Checkpoint.verify(note: Array(fork.utf8), key: logKey.verifierKey) }
    }

    /// The cosignature is the C2SP format: keyID || big-endian time || Ed25519 over
    /// "cosignature/v1\ntime T\n" + the note text; the cosigner key ID uses type byte 0x04.
    @Test func cosignaturesHaveTheSpecFormat() throws {
        let key = try SigningKey(name: "witness.test/w1", seed: [UInt8](repeating: 7, count: 32))
        let cosigner = CosignerKey(signingKey: key)
        var idInput = Array("witness.test/w1\n".utf8) + [0x04] + key.publicKey
        #expect(cosigner.keyID == Array(SHA256.digest(idInput).prefix(4)))
        idInput[16] = 0x01
        #expect(cosigner.keyID != key.keyID && key.keyID == Array(SHA256.digest(idInput).prefix(4)))
        #expect(try CosignerKey(parsing: cosigner.encoded) == cosigner)
        #expect(throws: KeyFormatError.self) { try CosignerKey(parsing: key.verifierKey.encoded) }   // type 0x01 is a note key
        let text = "example.test/log\n5\n" + Base64.encode([UInt8](repeating: 1, count: 32)) + "\n"
        let sig = Cosignature.sign(text: text, time: 1_679_315_147, key: key)
        #expect(sig.keyID == cosigner.keyID && sig.signature.count == 72)
        #expect(Array(sig.signature.prefix(8)) == [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xcb])   // 1679315147 big-endian
        let message = Array("cosignature/v1\ntime 1679315147\n".utf8) + Array(text.utf8)
        #expect(Ed25519.verify(signature: Array(sig.signature.suffix(64)), message: message, publicKey: key.publicKey))
        let note = SignedNote(text: text, signatures: [sig])
        #expect(try Cosignature.verify(note, keys: [cosigner]).map(\.time) == [1_679_315_147])
        // Another text under the same cosignature is refused; unknown keys are ignored.
        let forged = SignedNote(text: text.replacingOccurrences(of: "\n5\n", with: "\n6\n"), signatures: [sig])
        #expect(throws: NoteError.badSignature("witness.test/w1")) { try Cosignature.verify(forged, keys: [cosigner]) }
        #expect(try Cosignature.verify(note, keys: [CosignerKey(signingKey: try SigningKey.generate(name: "witness.test/w1"))]).isEmpty)
    }

    @Test func requestBodiesParseOnlyInTheSpecShape() throws {
        let r = AddCheckpointRequest(oldSize: 20, proof: [[UInt8](repeating: 3, count: 32)], checkpoint: Array("cp\n\n— x y\n".utf8))
        #expect(try AddCheckpointRequest.parse(r.body) == r)
        #expect(String(decoding: r.body, as: UTF8.self).hasPrefix("old 20\n" + Base64.encode([UInt8](repeating: 3, count: 32)) + "\n\ncp\n"))
        for bad in ["old 020\n\ncp\n", "old -1\n\ncp\n", "new 1\n\ncp\n", "old 1\nnotbase64\n\ncp\n", "old 1", "old 1\n" + Base64.encode([1, 2]) + "\n\ncp\n",
                    "old 1\n" + String(repeating: Base64.encode([UInt8](repeating: 0, count: 32)) + "\n", count: 64) + "\ncp\n"] {
            #expect(throws: WitnessError.self, "\(bad.prefix(20))") { try AddCheckpointRequest.parse(Array(bad.utf8)) }
        }
    }

    @Test func cosignsOnlyConsistentGrowth() async throws {
        let s = Scene()
        s.grow(to: 300)
        let w = try s.witness(initialise: true)
        // First sight: old 0, no proof.
        let first = try await w.addCheckpoint(try s.request(old: 0, size: 10))
        let sigs = try AddCheckpointRequest.parseCosignatures(first)
        let cosigned = SignedNote(text: try SignedNote.parse(try s.note(10)).text, signatures: sigs)
        #expect(try Cosignature.verify(cosigned, keys: [w.cosignerKey]).map(\.time) == [1_700_000_000])
        // Growth with a valid proof; the same checkpoint again is fine.
        _ = try await w.addCheckpoint(try s.request(old: 10, size: 257))
        _ = try await w.addCheckpoint(try s.request(old: 257, size: 257))
        await expectRefusal(w, try s.request(old: 257, size: 257, proof: [[UInt8](repeating: 1, count: 32)]), 422, "a proof from a size to itself")
        // The spec's refusals.
        await expectRefusal(w, try s.request(old: 10, size: 300), 409, "stale old size")
        await expectRefusal(w, try s.request(old: 0, size: 300), 409, "old size 0 after cosigning")
        await expectRefusal(w, try s.request(old: 257, size: 257, root: [UInt8](repeating: 9, count: 32)), 409, "same size, other root")
        let wrongProof = try MerkleTree.consistencyProof(first: 256, second: 300, store: s.tree)
        await expectRefusal(w, try s.request(old: 257, size: 300, proof: wrongProof), 422, "proof of other sizes")
        await expectRefusal(w, try s.request(old: 257, size: 300, root: [UInt8](repeating: 9, count: 32)), 422, "a fork of size 300")
        await expectRefusal(w, try s.request(old: 257, size: 200, proof: []), 400, "old above size")
        await expectRefusal(w, try s.request(old: 257, size: 300, key: try SigningKey.generate(name: s.logKey.name)), 403, "signed by another key")
        let other = try SigningKey.generate(name: "other.test/log")
        let unknown = AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: Array(try Checkpoint(origin: other.name, size: 1, root: s.tree.root(size: 1)).signed(by: other).serialized.utf8))
        await expectRefusal(w, unknown.body, 404, "unknown log")
        await expectRefusal(w, Array("old 1\n".utf8), 400, "truncated body")
        // Still at 257: nothing refused moved it.
        #expect(try WitnessState.open(s.dir.path, key: w.cosignerKey).latest(s.logKey.name)?.size == 257)
        _ = try await w.addCheckpoint(try s.request(old: 257, size: 300))
    }

    /// The state outlives the process; a witness without its state (or with another's) does not start.
    @Test func stateSurvivesRestartsAndItsLossIsDetected() async throws {
        let s = Scene()
        s.grow(to: 50)
        _ = try await s.witness(initialise: true).addCheckpoint(try s.request(old: 0, size: 20))
        let again = try s.witness()   // a new process on the same state
        await expectRefusal(again, try s.request(old: 0, size: 50), 409, "restarted witness forgot its size")
        _ = try await again.addCheckpoint(try s.request(old: 20, size: 50))
        #expect(throws: WitnessError.self) { try WitnessState.initialise(s.dir.path, key: again.cosignerKey) }   // once only
        #expect(throws: WitnessError.self) { try WitnessState.open(s.dir.path, key: CosignerKey(signingKey: try SigningKey.generate(name: "witness.test/w1"))) }
        // One log's file gone: caught, not treated as a log never seen.
        let file = try FileManager.default.contentsOfDirectory(atPath: s.dir.path + "/logs")[0]
        try FileManager.default.moveItem(atPath: s.dir.path + "/logs/" + file, toPath: s.dir.path + "/aside")
        #expect(throws: WitnessError.self) { try s.witness() }
        try FileManager.default.moveItem(atPath: s.dir.path + "/aside", toPath: s.dir.path + "/logs/" + file)
        _ = try s.witness()
        try FileManager.default.removeItem(atPath: s.dir.path + "/logs")
        #expect(throws: WitnessError.stateLost("\(s.dir.path)/logs is missing: this witness's state is lost")) { try s.witness() }
        try FileManager.default.removeItem(atPath: s.dir.path)
        #expect(throws: WitnessError.self) { try s.witness() }
    }
}
