import Foundation
import Testing
import TributaryCommandLine
import TributaryAudit
import TributaryClient
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryModel
@testable import TributaryServer
import TributaryTestSupport

/// Issue 30: the operator tunes each release's router rows by a logged recipe; auditors replay it from
/// the token ids the release logs, on other CPUs too; an opt-out re-tunes without the withdrawn expert.
@Suite(.serialized) struct RouterTuningReleaseTests {
    static var recipe: RouterTuningRecipe {
        var r = RouterTuningRecipe()
        r.samplesPerExpert = 2
        r.sampleTokens = 24
        r.steps = 4
        r.batchSize = 2
        r.seqLen = 16
        r.learningRate = 1e-2
        r.publicEvery = 2
        r.publicTokens = 256
        r.routingLossWeight = 0.5   // the replay covers the routing loss and its logged labels
        return r
    }

    /// The command line's rebuild and replay (`tributary audit --rebuild-pruned`).
    static let rebuild = ReleaseRetentionTests.rebuild
    static let replay = routerTuningReplay

    /// `tributary audit` in a child process whose OpenBLAS runs `core`'s kernels.
    static func auditProcess(server: String, logKey: String, state: String, core: String) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tributaryBinary)
        p.arguments = ["audit", "--server", server, "--log-key", logKey, "--state", state, "--all-releases", "--rebuild-pruned"]
        var env = ProcessInfo.processInfo.environment
        env["TRIBUTARY_BLAS_CORETYPE"] = core
        env.removeValue(forKey: "OPENBLAS_CORETYPE")
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func releasesAreTunedByTheLoggedRecipeReplayedOnAnotherCoreAndRetunedAfterOptOut() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("tuning"), state = scratchDirectory("tuning-state"), out = scratchDirectory("tuning-out")
        defer { for d in [dir, state, out] { try? FileManager.default.removeItem(atPath: d) } }
        var config = f.serverConfig(dir)
        config.autoRelease = false
        config.keepReleases = 1
        config.policy.routerTuning = Self.recipe
        let s = try await RunningServer.start(config)
        defer { Task { await s.stop() } }
        for org in ["acme", "globex"] { try await f.enrol(org, on: s.server) }
        let acme = try await s.client.submit(bundle: try f.signedBundle("acme")).logIndex
        let globex = try await s.client.submit(bundle: try f.signedBundle("globex")).logIndex
        let first = try #require(try await s.server.releases.publish(force: true))
        #expect(first.manifest.routerTuning == Self.recipe)
        #expect(first.manifest.files[ReleaseLayout.routerTuningFile] != nil)

        // The rows were tuned: they are the record's, not the owners'.
        let c = first.model.config, C = c.hiddenSize
        let record = try RouterTuningRecord.read(first.directory + "/" + ReleaseLayout.routerTuningFile, experts: 2,
                                                 layers: c.moeLayers.count, hidden: C, vocab: c.vocabSize)
        let released = Array(ExpertAssembly.routerRows(of: first.model).dropFirst())
        #expect(released == record.rows)
        #expect(record.proxyExperts == [1, 1, 2, 2] && record.publicTokens.count == Self.recipe.publicTokens)
        let acmeRows = try SafetensorsFile(path: s.server.blobs.path(try #require(try await s.server.store.allContributions().first { $0.logIndex == acme }).routingSHA256)).floats(TensorNames.routerRows)
        let l0 = c.moeLayers[0]
        #expect(Array(released[0][0..<C]) != Array(acmeRows[l0 * C..<(l0 + 1) * C]), "tuning left acme's rows as they were")

        // The auditor replays the tuning from the logged ids and finds the rows; skipping says so.
        var o = AuditOptions(logKey: s.server.logVerifierKey, operatorKey: f.operatorKey.verifierKey, stateDirectory: state)
        o.allReleases = true
        o.tuningReplay = Self.replay
        let audit = try await Auditor(source: ServerLogSource(client: s.client), options: o).run()
        #expect(audit.passed && audit.text.contains("router tuning replayed"), "\(audit.text)")
        var skipping = o
        skipping.tuningReplay = nil
        let skipped = try await Auditor(source: ServerLogSource(client: s.client), options: skipping).run()
        #expect(skipped.passed && skipped.text.contains("router tuning not replayed"), "\(skipped.text)")
        // A replay that gives other rows (an operator who published rows the recipe does not make) is a finding.
        var lying = o
        lying.tuningReplay = RouterTuningReplay { m, a, e, r in try Self.replay.replay(m, a, e, r).map { $0.map { $0 * 1.1 } } }
        expectFinding(try await Auditor(source: ServerLogSource(client: s.client), options: lying).run(), "audit.router_tuning", "rows 10% off the replay")

        // Opt-out: the next release is tuned again from the logged rows, without acme's material.
        _ = try await s.client.revokeContribution(acme, key: f.orgs["acme"]!.key)
        let second = try #require(try await s.server.releases.publish(force: true))
        #expect(second.manifest.experts.map(\.contribution) == [globex])
        let after = try RouterTuningRecord.read(second.directory + "/" + ReleaseLayout.routerTuningFile, experts: 1,
                                                layers: c.moeLayers.count, hidden: C, vocab: c.vocabSize)
        #expect(after.proxyExperts == [1, 1])
        // Exactly what tuning globex alone gives: nothing of acme remains (same process, same kernels).
        let alone = out + "/alone"
        try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
        let g = try #require(try await s.server.store.allContributions().first { $0.logIndex == globex })
        _ = try ReleaseFiles.write(anchor: try AnchorDirectory.load(f.anchorDir),
                                   contributions: [.init(organisation: "globex", expertFile: s.server.blobs.path(g.expertSHA256), routingFile: s.server.blobs.path(g.routingSHA256))],
                                   number: 2, topK: second.manifest.expertsPerToken,
                                   tuning: .tune(recipe: Self.recipe, keys: [globex], publicTokens: record.publicTokens), to: alone)
        #expect(try Hex.encode(SHA256.digest(fileAt: alone + "/" + ModelFiles.weights).digest) == second.manifest.files[ModelFiles.weights])
        #expect(await s.server.releases.isPruned(1))

        // Another CPU's kernels: the command-line auditor in a child process on another OpenBLAS core
        // type rebuilds the pruned release 1 from its record and replays both tunings within tolerance.
        let here = BLASThreads.coreName
        let other = ["skylakex", "cooperlake", "sapphirerapids"].contains(here.lowercased()) ? "Haswell" : "Sandybridge"
        let child = try Self.auditProcess(server: "http://127.0.0.1:\(s.port)", logKey: s.server.logVerifierKey.encoded, state: state + "/child", core: other)
        #expect(child.status == 0, "\(child.output)")
        #expect(child.output.components(separatedBy: "router tuning replayed").count == 3, "\(child.output)")
        print("router tuning replayed on \(other) (this process: \(here)):\n" + child.output.split(separator: "\n").filter { $0.contains("router tuning") }.joined(separator: "\n"))
    }
}
