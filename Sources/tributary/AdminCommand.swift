import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryServer

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "admin", abstract: "Operator actions: enrolment, key revocation, releases.",
                                                    subcommands: [EnrollCommand.self, RevokeKeyCommand.self, ReleaseCommand.self])
}

/// Where an admin action goes: the data directory on this machine, or a server over HTTP with the
/// operator's key.
struct AdminTarget: ParsableArguments {
    @Option(name: .customLong("dir"), help: "Data directory of a server on this machine.") var directory: String?
    @Option(help: "Server URL (with --operator-key).") var server: String?
    @Option(help: "The operator's private key file.") var operatorKey: String?

    func validate() throws {
        guard (directory == nil) != (server == nil) else { throw ValidationError("give either --dir (local) or --server (remote)") }
        if server != nil && operatorKey == nil { throw ValidationError("--server needs --operator-key") }
    }

    /// The log, opened directly (the log key in DIR signs the new checkpoint).
    func localStore() throws -> MetadataStore {
        let dir = directory!
        var bytes = try readSmallFile(dir + "/log.key", limit: 4096)
        defer { secureZero(&bytes) }
        let key = try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
        return try MetadataStore(path: dir + "/tributary.sqlite", logKey: key, anchorDigest: nil)
    }
}

func printAppend(_ what: String, index: UInt64, size: UInt64) {
    print("\(what) at log index \(index) (tree size \(size))")
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enroll", abstract: "Enrol an organisation's verifier key.")
    @OptionGroup var target: AdminTarget
    @Option(help: "Organisation name (must match the key's name).") var name: String
    @Option(help: "The organisation's verifier key, or a file with it.") var pubkey: String

    func run() async throws {
        try await reportingErrors {
            let key = try loadVerifierKey(pubkey)
            guard key.name == name else { throw TributaryError("key.name_mismatch", "the key is named \(key.name), not \(name)") }
            if let url = target.server {
                let r = try await TributaryClient(server: url).enrol(key, operatorKey: try loadSigningKey(target.operatorKey!))
                print("enrolled \(name) (key \(key.keyIDHex)): \(JSONWriter.string(r))")
            } else {
                let r = try await target.localStore().enrol(key, request: nil, nonce: nil)
                printAppend("enrolled \(name) (key \(key.keyIDHex))", index: r.index, size: r.size)
            }
        }
    }
}

struct RevokeKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke-key", abstract: "Revoke an enrolled key (remote only: signed by the operator).")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file (or the key's own, to revoke it).") var key: String
    @Option(help: "Key ID (8 hex digits) to revoke.") var keyID: String

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).revokeKey(keyID, key: try loadSigningKey(key))
            print("revoked key \(keyID): \(JSONWriter.string(r))")
        }
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Publish a release now (signed by the operator).")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file.") var operatorKey: String

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).publishRelease(operatorKey: try loadSigningKey(operatorKey))
            print(JSONWriter.string(r))
        }
    }
}
