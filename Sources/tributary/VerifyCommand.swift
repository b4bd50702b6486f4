import ArgumentParser
import TributaryCommandLine
import TributaryCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a contribution bundle's signature, digests and layout.")

    @Argument(help: "Bundle directory.") var directory: String
    @Option(help: "Verifier key, or a file holding it.") var pubkey: String
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            let key = try loadVerifierKey(pubkey)
            let v = try ContributionBundle.verify(directory: directory, keys: [key])
            if json {
                printJSON(.object([
                    ("verified", .bool(true)),
                    ("organisation", .string(v.predicate.organisation)),
                    ("keyID", .string(v.signer.keyIDHex)),
                    ("digests", .object(v.digests.keys.sorted().map { ($0, .string(v.digests[$0]!)) })),
                    ("predicate", v.predicate.json),
                ]))
            } else {
                print("OK: \(directory) signed by \(v.signer.name) (key \(v.signer.keyIDHex))")
                for name in BundleLayout.subjectFiles { print("  \(name)  sha256:\(v.digests[name]!)") }
            }
        }
    }
}
