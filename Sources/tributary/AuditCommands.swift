import ArgumentParser
import Foundation
import TributaryAudit
import TributaryClient
import TributaryCore
import TributaryLog

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify a log and its releases from public material alone.",
        discussion: """
        Checks the checkpoint against the pinned log key and against this auditor's last checkpoint \
        (kept in --state: a rolled-back or forked log is caught), recomputes the Merkle root over every \
        entry, re-verifies every enrolment, contribution envelope and revocation, and checks that releases \
        hold exactly the accepted, unrevoked experts, bit for bit. Exit status 0 only when everything verified.
        """)

    @Option(help: "Server URL.") var server: String?
    @Option(help: "A directory written by `tributary log export` (offline audit).") var export: String?
    @Option(help: "The log's verifier key, or a file with it (pin it out of band).") var logKey: String
    @Option(help: "The operator's verifier key, to check enrolments against.") var operatorKey: String?
    @Option(help: "Directory where this auditor remembers what it verified.") var state: String
    @Flag(help: "Check every release bit for bit, not only the latest.") var allReleases = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (server == nil) != (export == nil) else { throw ValidationError("give either --server or --export") }
    }

    func run() async throws {
        try await reportingErrors {
            let source: LogSource = try server.map { ServerLogSource(client: try TributaryClient(server: $0)) } ?? ExportedLogSource(directory: export!)
            var options = AuditOptions(logKey: try loadVerifierKey(logKey), operatorKey: try operatorKey.map(loadVerifierKey), stateDirectory: state)
            options.allReleases = allReleases
            let report = try await Auditor(source: source, options: options).run()
            if json { printJSON(report.json) } else { print(report.text) }
            if !report.passed { throw ExitCode(1) }
        }
    }
}

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "The transparency log.", subcommands: [LogExportCommand.self])
}

struct LogExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Copy a server's public log material into a directory, for offline audits.",
        discussion: "Writes checkpoint, entries, blobs/ (every contributed file), releases/<n>/ and anchor/.")

    @Option(help: "Server URL.") var server: String
    @Option(help: "Output directory.") var out: String

    func run() async throws {
        try await reportingErrors {
            let r = try await LogExporter.export(client: try TributaryClient(server: server), to: out)
            print("exported \(r.entries) entries, \(r.blobs) blobs, \(r.releases) releases and the anchor to \(out)")
        }
    }
}

struct VerifyInclusionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-inclusion",
        abstract: "Check that your contribution is in the log (with a proof against the signed checkpoint) and in the current release.")

    @Option(help: "Server URL.") var server: String
    @Option(help: "The log's verifier key, or a file with it; default: fetched from the server.") var logKey: String?
    @Argument(help: "Your signed bundle directory.") var bundle: String
    @Flag var json = false

    func run() async throws {
        try await reportingErrors {
            let client = try TributaryClient(server: server)
            let statement = try readSmallFile(bundle + "/" + BundleLayout.statementFile, limit: 1 << 20)
            let sha = Hex.encode(SHA256.digest(statement))
            let key: VerifierKey
            if let logKey { key = try loadVerifierKey(logKey) } else {
                guard case let .string(k)? = try await client.getJSON("/v1/log/key")["verifierKey"] else { throw TributaryError("client.bad_response", "no log key") }
                key = try VerifierKey(parsing: k)
            }
            let record = try await client.getJSON("/v1/contributions?statementSHA256=\(sha)")
            guard case let .number(t)? = record["logIndex"], let index = UInt64(t) else { throw TributaryError("client.bad_response", "no log index") }
            let cp = try Checkpoint.verify(note: try await client.checkpoint(), key: key)
            let entry = try await client.entries(start: index, end: index + 1)[0]
            guard case let .contribution(_, _, _, envelope, _) = try LogEntry.parse(entry), try DSSEEnvelope.parse(envelope).payload == statement else {
                throw TributaryError("inclusion.mismatch", "log entry \(index) is not this bundle's statement")
            }
            let proof = try await client.inclusionProof(index: index, size: cp.size)
            guard ProofVerification.inclusion(index: index, size: cp.size, leafHash: MerkleHash.leaf(entry), proof: proof, root: cp.root) else {
                throw TributaryError("inclusion.bad_proof", "the inclusion proof for entry \(index) does not lead to the signed checkpoint")
            }
            let revoked = record["revokedAt"].map { $0 != .null } ?? false
            var inRelease: Int?
            if let latest = try? await client.getJSON("/v1/releases/latest"), case let .array(experts)? = latest["experts"],
               experts.contains(where: { $0["contribution"] == .uint64(index) && $0["statementSHA256"] == .string(sha) }),
               case let .number(n)? = latest["release"] {
                inRelease = Int(n)
            }
            if json {
                printJSON(.object([("logIndex", .uint64(index)), ("treeSize", .uint64(cp.size)), ("included", .bool(true)),
                                   ("revoked", .bool(revoked)), ("release", inRelease.map { .int($0) } ?? .null)]))
            } else {
                print("included: log entry \(index), proof verified against the checkpoint of size \(cp.size) signed by \(key.name)")
                print(revoked ? "revoked: yes (opted out)" : (inRelease.map { "in the current release: yes (release \($0))" } ?? "in the current release: not yet"))
            }
        }
    }
}
