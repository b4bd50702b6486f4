import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryAudit
import TributaryClient
import TributaryContribution
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
    @Flag(help: "Rebuild releases whose files the server pruned (from the anchor and the logged bundles) and check them bit for bit too.")
    var rebuildPruned = false
    @Flag(help: "Do not replay tuned releases' router tuning (it costs a tuning run per release); their rows are still checked against the release's tuning record and the recipe's bound, and the report says the replay was skipped.")
    var skipRouterReplay = false
    @Option(help: "New log entries one audit reads at most (held in memory; a larger checkpoint is refused).") var maxNewEntries: UInt64 = 1_000_000
    @Flag(help: "Read the log through its tiles only (C2SP tlog-tiles: checkpoint, entry bundles, hash tiles), computing every proof here; what a static mirror serves.")
    var tiles = false
    @Option(help: "A witness whose cosignature counts (its cosigner key or a file with it; repeat).") var witness: [String] = []
    @Option(help: "Cosignatures the checkpoint must carry from --witness keys (default: all of them).") var witnessQuorum: Int?
    @Option(help: "The operator's release key (ECDSA P-256 public key, PEM; pin it out of band): every release must carry an OpenSSF model signature (model.sig) under it over exactly its logged files.")
    var modelSigningKey: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (server == nil) != (export == nil) else { throw ValidationError("give either --server or --export") }
        guard !witness.isEmpty || witnessQuorum == nil else { throw ValidationError("--witness-quorum needs --witness") }
        guard !tiles || server != nil else { throw ValidationError("--tiles reads a server's (or mirror's) /tile/ resources: give --server") }
    }

    func run() async throws {
        prepareCompute()  // a tuned release's replay trains; TRIBUTARY_BLAS_CORETYPE picks the kernels
        var passed = false
        try await reportingErrors { passed = try await audit() }
        if !passed { throw ExitCode(1) }
    }

    // The source and options are built outside `audit()`: Swift 6.3's release build crashes splitting
    // that coroutine when they are built inside it.
    @inline(never)
    private func auditor() throws -> Auditor {
        let source: LogSource
        if let server {
            let client = try TributaryClient(server: server)
            source = tiles ? TileLogSource(client: client) : ServerLogSource(client: client)
        } else {
            source = ExportedLogSource(directory: export!)
        }
        var options = AuditOptions(logKey: try loadVerifierKey(logKey), operatorKey: try operatorKey.map(loadVerifierKey), stateDirectory: state)
        options.allReleases = allReleases
        options.maxNewEntries = maxNewEntries
        if rebuildPruned { options.rebuild = releaseRebuild }
        if !skipRouterReplay { options.tuningReplay = routerTuningReplay }
        options.modelSigningKey = try modelSigningKey.map(loadP256PublicKey)
        if !witness.isEmpty {
            options.witnessPolicy = try WitnessPolicy(witnesses: try witness.map(loadCosignerKey), quorum: witnessQuorum ?? witness.count)
        }
        return Auditor(source: source, options: options)
    }

    private func audit() async throws -> Bool {
        let report = try await auditor().run()
        if json { printJSON(report.json) } else { print(report.text) }
        return report.passed
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
            let key: VerifierKey
            if let logKey { key = try loadVerifierKey(logKey) } else { key = try await client.logKey().verifierKey }
            let r = try await InclusionCheck.run(client: client, statement: statement, logKey: key)
            if json {
                printJSON(.object([("logIndex", .uint64(r.logIndex)), ("treeSize", .uint64(r.treeSize)), ("included", .bool(true)),
                                   ("revoked", .bool(r.revoked)), ("release", r.release.map { .int($0) } ?? .null)]))
            } else {
                print("included: log entry \(r.logIndex), proof verified against the checkpoint of size \(r.treeSize) signed by \(key.name)")
                print(r.revoked ? "revoked: yes (opted out)" : (r.release.map { "in the current release: yes (release \($0))" } ?? "in the current release: not yet"))
            }
        }
    }
}

struct FetchReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch-release",
        abstract: "Download a published release (the combined model), checking the manifest's signature and every file's digest.",
        discussion: """
        A release whose files the server pruned (it keeps its newest ones whole, and every manifest) is \
        rebuilt here from the anchor and the logged bundles, and checked against the same digests.
        """)

    @Option(help: "Server URL.") var server: String
    @Option(help: "The log's verifier key, or a file with it (pin it out of band).") var logKey: String
    @Option(help: "Release number (default: the latest).") var number: Int?
    @Option(help: "New directory for the model: config.json, model.safetensors, routing-index.safetensors, manifest.json.") var out: String
    @Option(help: "The operator's release key (ECDSA P-256 public key, PEM): the release's OpenSSF model signature (model.sig) must verify under it.")
    var modelSigningKey: String?

    func run() async throws {
        try await reportingErrors {
            let r = try await ReleaseDownload.fetch(client: try TributaryClient(server: server), logKey: try loadVerifierKey(logKey),
                                                    number: number, to: out, rebuild: releaseRebuild,
                                                    modelSigningKey: try modelSigningKey.map(loadP256PublicKey))
            let m = r.manifest
            if r.rebuilt { print("release \(m.release)'s files were pruned by the server: rebuilt from the anchor and the logged bundles") }
            print("release \(m.release) (log size \(m.logSize), \(m.expertsPerToken) experts per token): experts "
                  + (["anchor"] + m.experts.map { "\($0.organisation) (contribution \($0.contribution))" }).joined(separator: ", "))
            print("signature and \(m.files.count) file digests verified" + (r.modelSignatureVerified ? "; OpenSSF model signature (model.sig) verified under the release key" : "") + "; written to \(out)")
        }
    }
}
