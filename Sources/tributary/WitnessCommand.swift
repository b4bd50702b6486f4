import ArgumentParser
import Foundation
import Logging
import TributaryCommandLine
import TributaryCore
import TributaryHTTP
import TributaryLog
import TributaryWitness

struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a transparency-log witness (C2SP tlog-witness) that cosigns only checkpoints consistent with what it saw.",
        subcommands: [WitnessKeygenCommand.self, WitnessServeCommand.self])
}

/// A cosigner key from its text or a file holding it.
func loadCosignerKey(_ argument: String) throws -> CosignerKey {
    try CosignerKey(parsing: try keyText(argument))
}

struct WitnessKeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a witness key: FILE (private, mode 0600) and FILE.pub (its cosigner key, type 0x04).")

    @Option(help: "The witness's name, e.g. witness.example.org/w1 (a C2SP key name: no spaces, no '+').") var name: String
    @Option(help: "Private key file to write (never overwritten).") var key: String

    func run() async throws {
        try await reportingErrors {
            for p in [key, key + ".pub"] where FileManager.default.fileExists(atPath: p) {
                throw TributaryError("key.exists", "\(p) already exists; keys are never overwritten")
            }
            let k = try SigningKey.generate(name: name)
            var secret = Array((k.encodedPrivateKey() + "\n").utf8)
            defer { secureZero(&secret) }
            try AtomicFileWriter.write(secret, to: key, mode: 0o600)
            try AtomicFileWriter.write(Array((CosignerKey(signingKey: k).encoded + "\n").utf8), to: key + ".pub")
            print(CosignerKey(signingKey: k).encoded)
        }
    }
}

struct WitnessServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /add-checkpoint for the given logs.",
        discussion: """
        Keeps the latest cosigned checkpoint of each log in --state, written durably before every \
        answer. A new witness starts with --init; without it the state must exist and belong to this \
        key: a witness that lost its state refuses to start rather than cosign a fork.
        """)

    @Option(help: "The witness's private key (from `tributary witness keygen`).") var key: String
    @Option(help: "State directory.") var state: String
    @Option(help: "A log to witness: ORIGIN=VERIFIER_KEY (the log key; repeat for several logs).") var log: [String]
    @Flag(help: "Create the state of a new witness (refused when --state holds one).") var `init` = false
    @Option var host = "127.0.0.1"
    @Option var port = 8090
    @Option(help: "TLS certificate (PEM); with --tls-key, the witness serves HTTPS.") var tlsCert: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Flag(help: "Serve plain HTTP on an address other hosts reach (refused otherwise).") var allowPlainHttp = false
    @Option(help: "Seconds a connection may stay silent before it is closed.") var idleTimeout: Int64 = 30
    @Option(help: "Seconds a request body may take to arrive, however it trickles.") var bodyDeadline = 10.0

    func run() async throws {
        try await reportingErrors {
            let signing = try loadSigningKey(key)
            let cosigner = CosignerKey(signingKey: signing)
            let logs = try log.map { spec -> VerifierKey in
                guard let eq = spec.firstIndex(of: "=") else { throw TributaryError("witness.bad_log", "--log takes ORIGIN=VERIFIER_KEY, got \(spec)") }
                let origin = String(spec[..<eq]), vkey = try loadVerifierKey(String(spec[spec.index(after: eq)...]))
                guard vkey.name.sameBytes(origin) else { throw TributaryError("witness.bad_log", "the key of \(origin) is named \(vkey.name): a log key's name is its origin") }
                return vkey
            }
            guard !logs.isEmpty else { throw TributaryError("witness.bad_log", "give at least one --log ORIGIN=VERIFIER_KEY") }
            let stateDir = `init` ? try WitnessState.initialise(state, key: cosigner) : try WitnessState.open(state, key: cosigner)
            let witness = Witness(key: signing, logs: logs, state: stateDir)
            var logger = Logger(label: "tributary.witness")
            logger.logLevel = .warning
            guard bodyDeadline > 0, bodyDeadline <= 3600 else { throw ValidationError("--body-deadline must be in (0, 3600] seconds") }
            let listener = Listener(host: host, port: port, tlsCertificate: tlsCert, tlsKey: tlsKey, allowPlainHTTP: allowPlainHttp,
                                    idleTimeoutSeconds: idleTimeout)
            let app = try WitnessApplication.make(witness: witness, listener: listener, bodyDeadlineSeconds: bodyDeadline, logger: logger) { port in
                FileHandle.standardOutput.write(Data("tributary witness on http://\(host):\(port)\ncosigner key: \(cosigner.encoded)\n".utf8))
            }
            try await app.runService()
        }
    }
}
