import ArgumentParser
import TributaryCommandLine
import TributaryCore

struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a contribution bundle: write statement.json and envelope.json.",
        discussion: """
        DIR must hold expert.safetensors and routing.safetensors as `tributary train` writes them. \
        The statement is built from their tensors and metadata, bound to the key's organisation, \
        and signed as a DSSE envelope over an in-toto statement.
        """)

    @Argument(help: "Bundle directory.") var directory: String
    @Option(help: "Private key file from `tributary keygen`.") var key: String

    func run() async throws {
        try await reportingErrors {
            let signingKey = try loadSigningKey(key)
            let verified = try ContributionBundle.sign(directory: directory, key: signingKey)
            print("signed \(directory) as \(signingKey.name) (key \(signingKey.verifierKey.keyIDHex))")
            for name in BundleLayout.subjectFiles { print("  \(name)  sha256:\(verified.digests[name]!)") }
        }
    }
}
