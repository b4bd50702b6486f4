import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryClient
import TributaryCore
import TributaryLog
import TributaryServer

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator actions: enrolment, key rotation and revocation, takedowns, releases.",
        subcommands: [EnrollCommand.self, RotateKeyCommand.self, RevokeKeyCommand.self, TakedownCommand.self, ReleaseCommand.self, MigrateCommand.self])
}

/// Where an admin action goes: the data directory on this machine, or a server over HTTP; either
/// way signed by the operator's key (the request's exact bytes go into the log).
struct AdminTarget: ParsableArguments {
    @Option(name: .customLong("dir"), help: "Data directory of a server on this machine.") var directory: String?
    @Option(help: "Server URL.") var server: String?
    @Option(help: "The operator's private key file.") var operatorKey: String?
    @Flag(help: "With --dir on a server started without --operator-key: log the enrolment unsigned.") var unsigned = false
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard (directory == nil) != (server == nil) else { throw ValidationError("give either --dir (local) or --server (remote)") }
        if !unsigned && operatorKey == nil { throw ValidationError("give --operator-key (or --unsigned, locally, on a server without an operator key)") }
    }

    /// The log, opened directly (the log key in DIR signs the new checkpoint).
    func localStore() throws -> MetadataStore {
        let dir = directory ?? "."
        var bytes = try readSmallFile(dir + "/log.key", limit: 4096)
        defer { secureZero(&bytes) }
        let key = try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
        return try MetadataStore(database: try database.location() ?? .sqlite(path: dir + "/tributary.sqlite"), logKey: key, anchorDigest: nil)
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
            guard key.name.sameBytes(name) else { throw TributaryError("key.name_mismatch", "the key is named \(key.name), not \(name)") }
            if let url = target.server {
                let r = try await TributaryClient(server: url).enrol(key, operatorKey: try loadSigningKey(target.operatorKey ?? ""))
                print("enrolled \(name) (key \(key.keyIDHex)): \(JSONWriter.string(r.json))")
            } else {
                let store = try target.localStore()
                var request: [UInt8]?, nonce: String?
                if let op = target.operatorKey {
                    let bytes = SignedRequest.make(origin: store.origin, action: .enrol(verifierKey: key.encoded),
                                                   key: try loadSigningKey(op))
                    request = bytes
                    nonce = try SignedRequest.parse(bytes).request.nonce
                }
                let r = try await store.enrol(key, request: request, nonce: nonce)
                printAppend("enrolled \(name) (key \(key.keyIDHex))", index: r.index, size: r.size)
            }
        }
    }
}

struct RotateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key", abstract: "Replace an organisation's key (its old key signs nothing more; its contributions stay).")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file.") var operatorKey: String
    @Option(help: "Organisation.") var name: String
    @Option(help: "The organisation's new verifier key, or a file with it.") var pubkey: String

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).rotateKey(organisation: name, to: try loadVerifierKey(pubkey),
                                                                        operatorKey: try loadSigningKey(operatorKey))
            print("rotated the key of \(name): \(JSONWriter.string(r.json))")
        }
    }
}

struct RevokeKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-key",
        abstract: "Revoke a key, signed by the operator or by the key itself.",
        discussion: "With --takedown (the key is compromised) every contribution it signed is taken down too; without, they stay in releases.")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file (or the key's own, to revoke it).") var key: String
    @Option(help: "The organisation the key belongs to.") var organisation: String
    @Option(help: "Key ID (8 hex digits) to revoke.") var keyID: String
    @Flag(help: "The key is compromised: take down every contribution it signed.") var takedown = false

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).revokeKey(keyID, organisation: organisation, takedown: takedown, key: try loadSigningKey(key))
            print("revoked key \(keyID) of \(organisation)\(takedown ? " and took down its contributions" : ""): \(JSONWriter.string(r.json))")
        }
    }
}

struct TakedownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "takedown", abstract: "Take a contribution down (logged with its reason; the next release excludes it).")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file.") var operatorKey: String
    @Option(help: "Why (logged).") var reason: String
    @Argument(help: "Log index of the contribution.") var contribution: UInt64

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).takeDown(contribution, reason: reason, operatorKey: try loadSigningKey(operatorKey))
            print("took down contribution \(contribution): \(JSONWriter.string(r.json))")
        }
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Publish a release now (signed by the operator).")
    @Option(help: "Server URL.") var server: String
    @Option(help: "The operator's private key file.") var operatorKey: String

    func run() async throws {
        try await reportingErrors {
            var client = try TributaryClient(server: server)
            client.timeoutSeconds = 3600  // a release is built, and tuned, before the server answers
            let r = try await client.publishRelease(operatorKey: try loadSigningKey(operatorKey))
            print(JSONWriter.string(r.json))
        }
    }
}
