import Foundation
import TributaryClient
import TributaryCore
#if canImport(Glibc)
import Glibc
import TributaryHarness
#endif

/// A PostgreSQL cluster a drill may crash: a `postgres://` URL with its password file, and the
/// directory scripts/postgres-test-cluster.sh made it in (for kill and restart).
public struct DrillDatabase: Sendable {
    public let url: String
    public let passwordFile: String
    public let cluster: String?
    public let script: String

    public init(url: String, passwordFile: String, cluster: String?, script: String) {
        self.url = url
        self.passwordFile = passwordFile
        self.cluster = cluster
        self.script = script
    }

    /// A new empty database on the same server (psql, from Debian's postgresql-client); returns its URL.
    public func createDatabase(_ name: String) throws -> String {
        guard let c = URLComponents(string: url), let host = c.host, let user = c.user else { throw TributaryError("drill.database", "cannot read \(url)") }
        let password = String(decoding: try readSmallFile(passwordFile, limit: 4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try Self.runTool("/usr/bin/psql", ["-h", host, "-p", String(c.port ?? 5432), "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
                                      "-c", "CREATE DATABASE \(name)"], environment: ["PGPASSWORD": password])
        var d = c
        d.path = "/" + name
        return d.string ?? url
    }

    /// A throw-away cluster in `directory` (scripts/postgres-test-cluster.sh `start`); `stopCluster`
    /// removes it.
    public static func startCluster(script: String, directory: String) throws -> DrillDatabase {
        let text = try runTool("/bin/bash", [script, "start", directory])
        var env = [String: String]()
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst(7).split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { env[kv[0]] = kv[1] }
        }
        guard let url = env["TRIBUTARY_TEST_POSTGRES"], let pw = env["TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE"] else {
            throw TributaryError("drill.database", "\(script) printed no cluster")
        }
        return DrillDatabase(url: url, passwordFile: pw, cluster: directory, script: script)
    }

    public func stopCluster() {
        if let cluster { _ = try? Self.runTool("/bin/bash", [script, "stop", cluster]) }
    }

    func crash() throws {
        guard let cluster else { throw TributaryError("drill.database", "no cluster directory to crash") }
        try Self.runTool("/bin/bash", [script, "kill", cluster])
    }

    func restart() throws {
        guard let cluster else { throw TributaryError("drill.database", "no cluster directory to restart") }
        try Self.runTool("/bin/bash", [script, "restart", cluster])
    }

    /// Runs a tool to its end and returns what it printed (stdout and stderr, through a file).
    /// posix_spawn and waitpid rather than Foundation's Process: Process learns of a child's exit when
    /// a socket the child inherits closes, and a database server the tool starts inherits that socket
    /// too and keeps it open, so `waitUntilExit` would wait as long as the database runs.
    @discardableResult
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let out = NSTemporaryDirectory() + "tributary-tool-" + Hex.encode(secureRandomBytes(6))
        defer { unlink(out) }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw TributaryError("drill.database", "cannot run \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: (try? readSmallFile(out, limit: 1 << 20)) ?? [], as: UTF8.self)
        // WIFEXITED and WEXITSTATUS, which Swift does not import: low 7 bits the signal, next 8 the status.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw TributaryError("drill.database", "\((path as NSString).lastPathComponent) \(arguments.first ?? "") failed (wait status \(status)): \(text)")
        }
        return text
    }
}

/// `count` `tributary serve` replicas on one PostgreSQL database and one shared store
/// (`work/store`), each with its own data directory holding a copy of the first one's log key.
struct ReplicaSet {
    let servers: [ServerProcess]
    let logKey: VerifierKey
    let store: String

    static func start(binary: String, work: String, deployment: SmallDeployment, database: DrillDatabase, databaseURL: String,
                      count: Int, origin: String, extra: [String] = []) async throws -> ReplicaSet {
        let store = work + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        var servers = [ServerProcess]()
        for i in 0..<count {
            let dir = work + "/replica\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            servers.append(ServerProcess(binary: binary, arguments: [
                "--dir", dir, "--store", store, "--database", databaseURL, "--database-password-file", database.passwordFile,
                "--replica", "replica\(i)", "--replica-poll", "0.5",
                "--anchor", deployment.anchor, "--probe"] + deployment.probe + [
                "--origin", origin, "--operator-key", deployment.operatorKey.verifierKey.encoded, "--log-level", "warning"] + extra,
                port: try ServerProcess.freePort(), logFile: work + "/replica\(i).log"))
        }
        do {
            try await servers[0].start()
            let key = work + "/replica0/log.key"
            for i in 1..<count {
                let copy = work + "/replica\(i)/log.key"
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: key, toPath: copy)
                chmod(copy, 0o600)
            }
            for s in servers.dropFirst() { try await s.start() }
            let text = String(decoding: try readSmallFile(work + "/replica0/log.pub", limit: 4096), as: UTF8.self)
            return ReplicaSet(servers: servers, logKey: try VerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)), store: store)
        } catch {
            for s in servers { s.kill() }
            throw error
        }
    }

    func killAll() { for s in servers { s.kill() } }

    /// Waits until every replica answers `/checkpoint` (which reads the database).
    func waitUntilAllAnswer(timeout: Double = 120) async throws {
        let t0 = Date()
        for s in servers {
            var client = try TributaryClient(server: s.url)
            client.timeoutSeconds = 2
            while (try? await client.checkpoint()) == nil {
                guard Date().timeIntervalSince(t0) < timeout else { throw TributaryError("drill.replica", "\(s.url) does not answer /checkpoint") }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// Waits until every replica routes with release `number` (`/v1/experts` names the release in
    /// its memory; `/v1/releases/latest` would only read the database); returns the seconds.
    func waitForRelease(_ number: Int, timeout: Double = 30) async throws -> Double {
        let t0 = Date()
        for s in servers {
            let client = try TributaryClient(server: s.url)
            while true {
                if let got = try? await client.experts().release, got >= number { break }
                guard Date().timeIntervalSince(t0) < timeout else { throw TributaryError("drill.replica", "\(s.url) does not serve release \(number) after \(Int(timeout)) s") }
                try await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        return Date().timeIntervalSince(t0)
    }
}
