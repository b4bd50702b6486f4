import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore

struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for an organisation.",
        discussion: """
        Writes DIR/NAME.key (private, mode 0600, Go sumdb/note signer format) and DIR/NAME.pub \
        (C2SP verifier key name+keyid+base64(0x01||pubkey)). Refuses to overwrite existing keys.
        """)

    @Option(help: "Organisation name (\(OrganisationName.rule)).") var name: String
    @Option(help: "Directory for the key files (created if missing).") var out: String
    @Flag(help: "Print the verifier key as JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard OrganisationName.isCanonical(name) else {
                throw TributaryError("key.invalid_name", "organisation name \(name.debugDescription) is not canonical: \(OrganisationName.rule)")
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let privatePath = "\(out)/\(name).key", publicPath = "\(out)/\(name).pub"
            for p in [privatePath, publicPath] where FileManager.default.fileExists(atPath: p) {
                throw TributaryError("key.exists", "\(p) already exists; keys are never overwritten")
            }
            let key = try SigningKey.generate(name: name)
            var secretText = Array((key.encodedPrivateKey() + "\n").utf8)
            defer { secureZero(&secretText) }
            try AtomicFileWriter.write(secretText, to: privatePath, mode: 0o600)
            try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: publicPath)
            if json {
                printJSON(.object([("name", .string(name)), ("keyID", .string(key.verifierKey.keyIDHex)),
                                   ("verifierKey", .string(key.verifierKey.encoded)),
                                   ("privateKeyFile", .string(privatePath)), ("publicKeyFile", .string(publicPath))]))
            } else {
                print("private key: \(privatePath) (mode 0600)")
                print("public key:  \(publicPath)")
                print(key.verifierKey.encoded)
            }
        }
    }
}
