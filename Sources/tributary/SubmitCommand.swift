import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryAudit
import TributaryClient
import TributaryAPI
import TributaryCore
import TributaryLog

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Upload a signed bundle; check that the log entry holds it and its inclusion proof against the signed checkpoint.")

    @Option(help: "Server URL, e.g. http://127.0.0.1:8080.") var server: String
    @Option(help: "The log's verifier key (or a file with it) to pin; default: fetched from the server.") var logKey: String?
    @Argument(help: "Signed bundle directory.") var bundle: String
    @Option(help: "A witness whose cosignature on the receipt's checkpoint counts (cosigner key or file; repeat).") var witness: [String] = []
    @Option(help: "Cosignatures the receipt's checkpoint must carry from --witness keys (default: all of them).") var witnessQuorum: Int?
    @Flag(help: "Print the server's answer as JSON.") var json = false

    func run() async throws {
        try await reportingErrors { try await submit() }
    }

    // Built outside `run()`'s closure: Swift 6.3's release build crashes splitting that coroutine
    // when the witness policy and its error mapping are inside it.
    @inline(never)
    private func witnessPolicy() throws -> WitnessPolicy? {
        witness.isEmpty ? nil : try WitnessPolicy(witnesses: try witness.map(loadCosignerKey), quorum: witnessQuorum ?? witness.count)
    }

    @inline(never)
    private func submit() async throws {
        let client = try TributaryClient(server: server)
        let envelope = try readSmallFile(bundle + "/" + BundleLayout.envelopeFile, limit: DSSEEnvelope.maxEncodedSize)
        let witnesses = try witnessPolicy()
        let r = try await client.submit(bundle: bundle)
        let key: VerifierKey
        if let logKey { key = try loadVerifierKey(logKey) } else { key = try await client.logKey().verifierKey }
        let accepted = try await Self.check(r, envelope: envelope, client: client, logKey: key, witnesses: witnesses)
        if json { printJSON(r.json) } else {
            print("accepted: log index \(accepted.index), tree size \(accepted.size); the entry holds this bundle's envelope, and its inclusion proof verifies against the signed checkpoint"
                  + (witnesses.map { " (cosigned by at least \($0.quorum) witness(es)" } ?? "")
                  + (accepted.checkpointTime.map { "; the checkpoint is \(Int64(Date().timeIntervalSince1970) - Int64($0)) s old)" } ?? ""))
        }
    }

    @inline(never)
    private static func check(_ r: ContributionReceipt, envelope: [UInt8], client: TributaryClient, logKey: VerifierKey, witnesses: WitnessPolicy?) async throws -> ReceiptCheck {
        do {
            return try await ReceiptCheck.run(receipt: r, envelope: envelope, client: client, logKey: logKey, witnesses: witnesses)
        } catch let e as WitnessPolicyError {
            throw TributaryError(e.code, e.message + "; the contribution was logged (index \(r.logIndex)), but this receipt does not prove the world sees it: audit with the same --witness keys later")
        }
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
            print("revocation of contribution \(contribution) logged at index \(r.logIndex)")
        }
    }
}
