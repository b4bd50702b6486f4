import Foundation
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog
import TributaryModel

/// The clients a drill runs against a server until the ledger says stop: data owners uploading and
/// opting out, an operator publishing releases, a watcher collecting checkpoints, routing users.
/// Every request's outcome goes into the ledger; an error while the server is meant to be up is a
/// failure, one after `stop` (the server was killed under it) is an interruption.
struct DrillWorkers: Sendable {
    let client: TributaryClient
    let ledger: DrillLedger
    let deployment: SmallDeployment
    let logKey: VerifierKey
    let scratch: String

    static func now() -> Double { ProcessInfo.processInfo.systemUptime }

    static func outcome(_ error: Error) -> String {
        guard let e = error as? RemoteError else { return "transport" }
        if e.status == 0 { return "transport" }
        if isBusy(error) { return "503-busy" }
        return e.status >= 500 ? "5xx" : String(e.status)
    }

    /// The server's backpressure (503 `api.busy`, with Retry-After): a client waits and retries; it
    /// is counted apart from server errors.
    static func isBusy(_ error: Error) -> Bool {
        guard let e = error as? RemoteError else { return false }
        return e.status == 503 && e.code == "api.busy"
    }

    /// How long a client here waits after a 503 before it retries.
    static let busyPause = 0.25

    private func checkpoint(note: String) -> TributaryLog.Checkpoint? {
        try? TributaryLog.Checkpoint.verify(note: Array(note.utf8), key: logKey)
    }

    private func sleep(_ seconds: Double) async { try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9)) }

    /// Uploads fresh bundles of `organisation`, pausing `pause` seconds (uniform) between them.
    func uploader(_ organisation: String, pause: ClosedRange<Double>, seed: UInt64) async {
        var rng = RNG(seed: seed)
        let org = deployment.organisations[organisation]!
        let factory = BundleFactory(base: org.unsignedBundle, key: org.key, work: scratch, origin: logKey.name)
        while await !ledger.stopping {
            let n = await ledger.nextNumber()
            let sent: SentBundle
            do {
                let dir = try factory.make(n)
                let statement = try readSmallFile(dir + "/" + BundleLayout.statementFile, limit: 1 << 20)
                sent = SentBundle(organisation: organisation, directory: dir, statement: statement, statementSHA256: Hex.encode(SHA256.digest(statement)))
            } catch {
                await ledger.fail("could not make bundle \(n): \(error)")
                return
            }
            let t0 = Self.now()
            do {
                let receipt = try await client.submit(bundle: sent.directory)
                await ledger.record("upload", outcome: "201", seconds: Self.now() - t0)
                await ledger.acknowledged(sent, index: receipt.logIndex, checkpoint: checkpoint(note: receipt.checkpoint))
            } catch {
                await ledger.record("upload", outcome: Self.outcome(error), seconds: nil)
                if Self.isBusy(error) { await sleep(Self.busyPause); continue }
                if await ledger.stopping { await ledger.interrupted(sent); return }
                await ledger.fail("upload \(n) by \(organisation) failed while the server was up: \(error)")
                return
            }
            await sleep(pause.lowerBound + (pause.upperBound - pause.lowerBound) * rng.uniformDouble())
        }
    }

    /// Opts out random live contributions (signed by their organisation) while more than `keepLive` are live.
    func revoker(keepLive: Int, seed: UInt64) async {
        var rng = RNG(seed: seed)
        while await !ledger.stopping {
            guard let (index, organisation) = await ledger.pickRevocable(keepLive: keepLive, random: rng.next()) else {
                await sleep(0.02)
                continue
            }
            let t0 = Self.now()
            do {
                let answer = try await client.revokeContribution(index, key: deployment.organisations[organisation]!.key, origin: logKey.name)
                await ledger.record("revoke", outcome: "201", seconds: Self.now() - t0)
                await ledger.revoked(index, checkpoint: checkpoint(note: answer.checkpoint))
            } catch {
                await ledger.record("revoke", outcome: Self.outcome(error), seconds: nil)
                await ledger.revocationInterrupted(index)
                if Self.isBusy(error) { await sleep(Self.busyPause); continue }
                if await ledger.stopping { return }
                await ledger.fail("revocation of \(index) failed while the server was up: \(error)")
                return
            }
        }
    }

    /// The operator publishing a release every `interval` seconds.
    func publisher(interval: Double) async {
        while await !ledger.stopping {
            await sleep(interval)
            let t0 = Self.now()
            do {
                _ = try await client.publishRelease(operatorKey: deployment.operatorKey, origin: logKey.name)
                await ledger.record("release", outcome: "201", seconds: Self.now() - t0)
            } catch {
                await ledger.record("release", outcome: Self.outcome(error), seconds: nil)
                if Self.isBusy(error) { continue }
                if await ledger.stopping { return }
                await ledger.fail("publishing a release failed while the server was up: \(error)")
                return
            }
        }
    }

    /// Fetches and verifies the checkpoint every `interval` seconds: every one handed out must stay
    /// consistent with the log after a crash.
    func checkpointWatcher(interval: Double) async {
        while await !ledger.stopping {
            do {
                let cp = try TributaryLog.Checkpoint.verify(note: try await client.checkpoint(), key: logKey)
                await ledger.saw(cp)
            } catch {
                if await ledger.stopping { return }
                await ledger.fail("the checkpoint could not be fetched or did not verify while the server was up: \(error)")
                return
            }
            await sleep(interval)
        }
    }

    /// A routing user: one query after another, texts drawn from `texts`.
    func router(texts: [String], seed: UInt64) async {
        var rng = RNG(seed: seed)
        while await !ledger.stopping {
            let text = texts[rng.below(texts.count)]
            let t0 = Self.now()
            do {
                _ = try await client.route(RouteRequest(.text(text)))
                await ledger.record("route", outcome: "200", seconds: Self.now() - t0)
            } catch {
                await ledger.record("route", outcome: Self.outcome(error), seconds: nil)
                if Self.isBusy(error) { await sleep(Self.busyPause); continue }
                if await ledger.stopping { return }
                await ledger.fail("a routing query failed: \(error)")
            }
        }
    }
}
