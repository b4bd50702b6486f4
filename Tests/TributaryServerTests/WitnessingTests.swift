import Foundation
import Logging
import Testing
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryHTTP
import TributaryLog
import TributaryTestSupport
import TributaryWitness
@_spi(Benchmarks) @testable import TributaryServer

/// A witness on loopback, over its own state directory.
final class RunningWitness: @unchecked Sendable {
    let key: SigningKey
    let state: String
    let url: String
    private let task: ServiceRun

    var cosigner: CosignerKey { CosignerKey(signingKey: key) }

    static func start(key: SigningKey, state: String, logKey: VerifierKey, initialise: Bool) async throws -> RunningWitness {
        let dir = initialise ? try WitnessState.initialise(state, key: CosignerKey(signingKey: key)) : try WitnessState.open(state, key: CosignerKey(signingKey: key))
        var logger = Logger(label: "tributary.test.witness")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try WitnessApplication.make(witness: Witness(key: key, logs: [logKey], state: dir), listener: Listener(host: "127.0.0.1", port: 0), logger: logger) {
            continuation.yield($0)
        }
        let task = ServiceRun(app, logger: logger)
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw TributaryError("test.witness", "witness did not start") }
        return RunningWitness(key: key, state: state, url: "http://127.0.0.1:\(port)", task: task)
    }

    private init(key: SigningKey, state: String, url: String, task: ServiceRun) {
        self.key = key
        self.state = state
        self.url = url
        self.task = task
    }

    func stop() async { await task.stop() }
}

/// A server whose log key is made beforehand, so witnesses can follow it from the first checkpoint.
struct WitnessedLog {
    let f: Fixture
    let dir: String
    let logKey: SigningKey
    var witnesses: [RunningWitness]

    static func make(_ label: String, witnesses count: Int, logKey: SigningKey? = nil) async throws -> WitnessedLog {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory(label)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let key = try logKey ?? SigningKey.generate(name: Fixture.origin)
        try AtomicFileWriter.write(Array((key.encodedPrivateKey() + "\n").utf8), to: dir + "/log.key", mode: 0o600)
        var ws = [RunningWitness]()
        for i in 0..<count {
            ws.append(try await RunningWitness.start(key: try SigningKey.generate(name: "witness.test/w\(i)"), state: scratchDirectory("\(label)-w\(i)"),
                                                     logKey: key.verifierKey, initialise: true))
        }
        return WitnessedLog(f: f, dir: dir, logKey: key, witnesses: ws)
    }

    func config(quorum: Int, witnesses: [RunningWitness]? = nil) -> ServerConfig {
        var c = f.serverConfig(dir)
        c.witnesses = (witnesses ?? self.witnesses).map { WitnessEndpoint(url: $0.url, key: $0.cosigner) }
        c.witnessQuorum = quorum
        return c
    }

    var policy: WitnessPolicy { get throws { try WitnessPolicy(witnesses: witnesses.map(\.cosigner), quorum: 2) } }
}

/// Polls until the server publishes a checkpoint of at least `size`.
/// (30 s: on a loaded CI machine the retry loop's 2 s turns come late.)
func waitForPublished(_ s: RunningServer, size: UInt64, timeout: Double = 30) async throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let p = try await s.server.store.publishedCheckpoint(), p.size >= size { return p.note }
        try await Task.sleep(nanoseconds: 100_000_000)
    }
    throw TributaryError("test.timeout", "no published checkpoint of size \(size)")
}

@Suite(.serialized) struct WitnessingTests {
    @Test func checkpointsArePublishedOnlyOnceTheQuorumCosigned() async throws {
        var log = try await WitnessedLog.make("witnessed", witnesses: 3)
        let s = try await RunningServer.start(log.config(quorum: 2))
        let note = try await waitForPublished(s, size: 1)
        let (cosigners, _) = try log.policy.check(try SignedNote.parse(Array(note.utf8)))
        #expect(cosigners.count >= 2)
        #expect(String(decoding: try await s.client.checkpoint(), as: UTF8.self) == note)
        // An append answers with its checkpoint cosigned.
        let r = try await log.f.enrol("acme", on: s.server)
        let answered = await s.server.witnessed(r)
        #expect(try log.policy.check(try SignedNote.parse(Array(answered.checkpoint.utf8))).cosigners.count >= 2)
        // Two witnesses down: the log grows, the published checkpoint does not.
        await log.witnesses[1].stop()
        await log.witnesses[2].stop()
        let grown = try await log.f.enrol("globex", on: s.server)
        let unwitnessed = await s.server.witnessed(grown)
        #expect(try SignedNote.parse(Array(unwitnessed.checkpoint.utf8)).signatures.count == 1)
        #expect(try await s.server.store.publishedCheckpoint()?.size == r.size)
        #expect(try await TileLogReader(client: s.client).entries(start: 0, end: r.size).count == Int(r.size))
        // One comes back on its own state: the retry loop publishes the grown log.
        log.witnesses[1] = try await RunningWitness.start(key: log.witnesses[1].key, state: log.witnesses[1].state,
                                                          logKey: log.logKey.verifierKey, initialise: false)
        // (The restarted witness listens on a new port: point a server at it as an operator would.)
        await s.stop()
        let s2 = try await RunningServer.start(log.config(quorum: 2, witnesses: [log.witnesses[0], log.witnesses[1]]))
        _ = try await waitForPublished(s2, size: grown.size)
        // An auditor that requires the quorum passes and learns the checkpoint's age.
        var options = AuditOptions(logKey: log.logKey.verifierKey, operatorKey: log.f.operatorKey.verifierKey, stateDirectory: scratchDirectory("witnessed-audit"))
        options.witnessPolicy = try log.policy
        let report = try await Auditor(source: TileLogSource(client: s2.client), options: options).run()
        #expect(report.passed, "\(report.text)")
        #expect((report.checkpointAgeSeconds ?? -1) >= 0 && (report.checkpointAgeSeconds ?? .max) < 60)
        await s2.stop()
        for w in log.witnesses { await w.stop() }
    }

    /// A split view: a second history under the same log key. The witnesses, having cosigned the
    /// honest one, never cosign the fork; an auditor that requires the quorum rejects the fork's
    /// checkpoint even when the fork serves it without cosignatures, or with forged ones.
    @Test func aForkIsRefusedByTheWitnessesAndCaughtByTheAuditor() async throws {
        let honest = try await WitnessedLog.make("split-honest", witnesses: 2)
        let s = try await RunningServer.start(honest.config(quorum: 2))
        defer { Task { await s.stop(); for w in honest.witnesses { await w.stop() } } }
        _ = try await honest.f.enrol("acme", on: s.server)
        let published = try await waitForPublished(s, size: 2)
        // The fork: same key, other entries, the same witnesses.
        let forkDir = scratchDirectory("split-fork")
        try FileManager.default.createDirectory(atPath: forkDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: honest.dir + "/log.key", toPath: forkDir + "/log.key")
        var forkConfig = honest.f.serverConfig(forkDir)
        forkConfig.witnesses = honest.witnesses.map { WitnessEndpoint(url: $0.url, key: $0.cosigner) }
        forkConfig.witnessQuorum = 2
        let fork = try await RunningServer.start(forkConfig)
        defer { Task { await fork.stop() } }
        try await fork.server.store.appendSyntheticEntries(5)
        try await Task.sleep(nanoseconds: 2_500_000_000)   // more than one retry round
        #expect(try await fork.server.store.publishedCheckpoint() == nil, "a witness cosigned the fork")
        // Asked directly, each witness refuses the fork's checkpoint: its proof does not extend what it cosigned.
        let forkLatest = try #require(try await fork.server.store.checkpoint())
        let forkCheckpoint = try Checkpoint.parse(text: try SignedNote.parse(Array(forkLatest.note.utf8)).text)
        for w in honest.witnesses {
            #expect(try await fork.server.store.witnessSize(w.cosigner.encoded) == nil)
            do {
                _ = try await fork.server.witnessing!.cosign(WitnessEndpoint(url: w.url, key: w.cosigner), note: forkLatest.note, checkpoint: forkCheckpoint)
                Issue.record("\(w.cosigner.name) cosigned the fork")
            } catch let e as WitnessError {
                #expect(e.message.contains("422"), "\(e.message)")
            }
        }
        // Each witness still holds the honest size.
        let honestSize = try Checkpoint.parse(text: try SignedNote.parse(Array(published.utf8)).text).size
        for w in honest.witnesses {
            #expect(try WitnessState.open(w.state, key: w.cosigner).latest(Fixture.origin)?.size ?? 0 >= honestSize)
        }
        // The fork serving its own checkpoint anyway, unwitnessed or with a stolen cosignature line.
        await fork.stop()
        let bare = try await RunningServer.start(honest.f.serverConfig(forkDir))
        defer { Task { await bare.stop() } }
        var options = AuditOptions(logKey: honest.logKey.verifierKey, stateDirectory: scratchDirectory("split-audit"))
        options.witnessPolicy = try honest.policy
        expectFinding(try await Auditor(source: ServerLogSource(client: bare.client), options: options).run(), "audit.unwitnessed", "unwitnessed fork")
        let forkNote = try SignedNote.parse(try await bare.client.checkpoint())
        let stolen = try SignedNote.parse(Array(published.utf8)).signatures.dropFirst()
        let dressed = SignedNote(text: forkNote.text, signatures: forkNote.signatures + stolen)
        #expect(throws: NoteError.self) { try honest.policy.check(dressed) }
        // The honest log passes the same auditor.
        options.stateDirectory = scratchDirectory("split-audit-honest")
        let ok = try await Auditor(source: ServerLogSource(client: s.client), options: options).run()
        #expect(ok.passed, "\(ok.text)")
    }

    /// A witness that comes back with an empty state under its old key would cosign anything: the
    /// server, which remembers what it cosigned, stops counting it.
    @Test func aWitnessThatLostItsStateNoLongerCounts() async throws {
        var log = try await WitnessedLog.make("lost-state", witnesses: 2)
        let s = try await RunningServer.start(log.config(quorum: 2))
        let first = try await log.f.enrol("acme", on: s.server)
        _ = try await waitForPublished(s, size: first.size)
        await s.stop()
        await log.witnesses[1].stop()
        try FileManager.default.removeItem(atPath: log.witnesses[1].state)
        log.witnesses[1] = try await RunningWitness.start(key: log.witnesses[1].key, state: log.witnesses[1].state,
                                                          logKey: log.logKey.verifierKey, initialise: true)
        let s2 = try await RunningServer.start(log.config(quorum: 2))
        let second = try await log.f.enrol("globex", on: s2.server)
        let cp = try Checkpoint.parse(text: try SignedNote.parse(Array(second.checkpoint.utf8)).text)
        do {
            _ = try await s2.server.witnessing!.cosign(WitnessEndpoint(url: log.witnesses[1].url, key: log.witnesses[1].cosigner),
                                                       note: second.checkpoint, checkpoint: cp)
            Issue.record("a witness that lost its state was counted")
        } catch let e as WitnessError {
            #expect(e.code == "witness.state_lost", "\(e.message)")
        }
        try await Task.sleep(nanoseconds: 2_500_000_000)
        #expect(try await s2.server.store.publishedCheckpoint()?.size == first.size)
        await s2.stop()
        // Re-keyed under its old name (what an operator does after a loss), it counts again.
        await log.witnesses[1].stop()
        log.witnesses[1] = try await RunningWitness.start(key: try SigningKey.generate(name: log.witnesses[1].key.name), state: scratchDirectory("lost-state-rekeyed"),
                                                          logKey: log.logKey.verifierKey, initialise: true)
        let s3 = try await RunningServer.start(log.config(quorum: 2))
        _ = try await waitForPublished(s3, size: second.size)
        await s3.stop()
        for w in log.witnesses { await w.stop() }
    }
}
