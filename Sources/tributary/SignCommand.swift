import ArgumentParser
import TributaryCommandLine
import TributaryCore

struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a contribution bundle: write statement.json and envelope.json.",
        discussion: """
        DIR must hold expert.safetensors and routing.safetensors as `tributary train` writes them. \
        The statement is built from their tensors and metadata, bound to the key's organisation and to \
        one deployment (the server's log origin: `curl SERVER/v1/log/key`), and signed as a DSSE \
        envelope over an in-toto statement. Another deployment refuses it.
        """)

    @Argument(help: "Bundle directory.") var directory: String
    @Option(help: "Private key file from `tributary keygen`.") var key: String
    @Option(help: "The log origin of the server this contribution is for.") var origin: String

    func run() async throws {
        try await reportingErrors {
            let signingKey = try loadSigningKey(key)
            let verified = try ContributionBundle.sign(directory: directory, key: signingKey, origin: origin)
            print("signed \(directory) as \(signingKey.name) (key \(signingKey.verifierKey.keyIDHex)) for \(origin)")
            for name in BundleLayout.subjectFiles { print("  \(name)  sha256:\(verified.digests[name] ?? "?")") }
        }
    }
}
