import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryClient
import TributaryCore
import TributaryLog

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Upload a signed bundle; check the returned inclusion proof against the signed checkpoint.")

    @Option(help: "Server URL, e.g. http://127.0.0.1:8080.") var server: String
    @Option(help: "The log's verifier key (or a file with it) to pin; default: fetched from the server.") var logKey: String?
    @Argument(help: "Signed bundle directory.") var bundle: String
    @Flag(help: "Print the server's answer as JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let client = try TributaryClient(server: server)
            let r = try await client.submit(bundle: bundle)
            let key: VerifierKey
            if let logKey { key = try loadVerifierKey(logKey) } else {
                guard case let .string(k)? = try await client.getJSON("/v1/log/key")["verifierKey"] else {
                    throw TributaryError("client.bad_response", "server did not give its log key")
                }
                key = try VerifierKey(parsing: k)
            }
            let accepted = try AcceptedReceipt(json: r, logKey: key)
            if json { printJSON(r) } else {
                print("accepted: log index \(accepted.index), tree size \(accepted.size); inclusion proof verified against the signed checkpoint")
            }
        }
    }
}

/// A receipt the client checks itself: the checkpoint is signed by the log key and the entry's
/// inclusion proof leads to its root.
struct AcceptedReceipt {
    let index: UInt64, size: UInt64

    init(json: JSONValue, logKey: VerifierKey) throws {
        guard case let .number(i)? = json["logIndex"], let index = UInt64(i), case let .string(note)? = json["checkpoint"],
              case let .string(leafText)? = json["leafHash"], let leaf = Base64.decodeStandard(leafText) else {
            throw TributaryError("client.bad_response", "the server's receipt is incomplete")
        }
        let cp = try Checkpoint.verify(note: Array(note.utf8), key: logKey)
        let proof = try TributaryClient.hashes(json["inclusionProof"])
        guard ProofVerification.inclusion(index: index, size: cp.size, leafHash: leaf, proof: proof, root: cp.root) else {
            throw TributaryError("client.bad_receipt", "the inclusion proof does not lead to the signed checkpoint's root")
        }
        self.index = index
        self.size = cp.size
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Withdraw your contribution (opt-out): the next release excludes it.")
    @Option(help: "Server URL.") var server: String
    @Option(help: "Your private key file.") var key: String
    @Argument(help: "Log index of the contribution.") var contribution: UInt64

    func run() async throws {
        try await reportingErrors {
            let r = try await TributaryClient(server: server).revokeContribution(contribution, key: try loadSigningKey(key))
            guard case let .number(i)? = r["logIndex"] else { throw TributaryError("client.bad_response", "no log index") }
            print("revocation of contribution \(contribution) logged at index \(i)")
        }
    }
}
