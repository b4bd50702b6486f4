import Foundation
import TributaryCore
import TributaryHarness

/// What the fault drill and the load test set up alike.
enum DrillSetup {
    /// `given` if it has the organisations, else a new SmallDeployment in `work/deployment` whose
    /// organisations take the demo's private domains in turn.
    static func deployment(_ given: SmallDeployment?, work: String, organisations names: [String], log: (String) -> Void) throws -> SmallDeployment {
        if let given {
            for n in names where given.organisations[n] == nil { throw TributaryError("drill.deployment", "the deployment has no organisation \(n)") }
            return given
        }
        log("building a small deployment: tiny anchor, \(names.count) organisations")
        let domains = DemoCorpora.privateDomains.map(\.name)
        return try SmallDeployment.build(work: work + "/deployment", organisations: names.enumerated().map { ($1, domains[$0 % domains.count]) })
    }

    /// `tributary serve` on a free loopback port for `deployment`, data in `work/server`, releases
    /// only when the operator asks; returns it running, with the log key it created.
    static func startServer(binary: String, work: String, deployment: SmallDeployment, origin: String) async throws -> (ServerProcess, VerifierKey) {
        let server = ServerProcess(binary: binary, arguments: [
            "--dir", work + "/server", "--anchor", deployment.anchor, "--probe"] + deployment.probe + [
            "--origin", origin, "--operator-key", deployment.operatorKey.verifierKey.encoded,
            "--no-auto-release", "--log-level", "warning"], port: try ServerProcess.freePort(), logFile: work + "/server.log")
        try await server.start()
        do {
            let text = String(decoding: try readSmallFile(work + "/server/log.pub", limit: 4096), as: UTF8.self)
            return (server, try VerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)))
        } catch {
            server.kill()
            throw error
        }
    }
}
