import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore

struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 key pair for an organisation (or an operator's ECDSA P-256 release key).",
        discussion: """
        Writes DIR/NAME.key (private, mode 0600, Go sumdb/note signer format) and DIR/NAME.pub \
        (C2SP verifier key name+keyid+base64(0x01||pubkey)). With --release-key: DIR/NAME.key.pem \
        (PKCS #8, mode 0600) and DIR/NAME.pub.pem (SubjectPublicKeyInfo), the key `serve \
        --release-signing-key` signs releases with in the OpenSSF model-signing format (ECDSA only) and \
        auditors pin with --model-signing-key. Refuses to overwrite existing keys.
        """)

    @Option(help: "Organisation name (\(OrganisationName.rule)), or the release key's file name.") var name: String
    @Option(help: "Directory for the key files (created if missing).") var out: String
    @Flag(help: "An ECDSA P-256 release key for OpenSSF model signing instead of an Ed25519 organisation key.") var releaseKey = false
    @Flag(help: "Print the verifier key as JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard OrganisationName.isCanonical(name) else {
                throw TributaryError("key.invalid_name", "organisation name \(name.debugDescription) is not canonical: \(OrganisationName.rule)")
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            if releaseKey { return try writeReleaseKey() }
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

    private func writeReleaseKey() throws {
        let privatePath = "\(out)/\(name).key.pem", publicPath = "\(out)/\(name).pub.pem"
        for p in [privatePath, publicPath] where FileManager.default.fileExists(atPath: p) {
            throw TributaryError("key.exists", "\(p) already exists; keys are never overwritten")
        }
        let key = try P256PrivateKey.generate()
        var secret = try key.pem()
        defer { secureZero(&secret) }
        let publicKey = try key.publicKey()
        try AtomicFileWriter.write(secret, to: privatePath, mode: 0o600)
        try AtomicFileWriter.write(publicKey.pem, to: publicPath)
        let hint = ModelSigningSignature.keyHint(publicKey)
        if json {
            printJSON(.object([("keyHint", .string(hint)), ("privateKeyFile", .string(privatePath)), ("publicKeyFile", .string(publicPath))]))
        } else {
            print("private key: \(privatePath) (mode 0600)")
            print("public key:  \(publicPath) (model-signing key hint \(hint))")
        }
    }
}
