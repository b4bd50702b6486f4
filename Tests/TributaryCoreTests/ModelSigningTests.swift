import Foundation
import Testing
@testable import TributaryCore

/// OpenSSF model signing (issue 31): directories Tributary signs verify with `model_signing verify key`
/// from PyPI, signatures model-signing makes verify here, and a changed, extra or missing file fails
/// both verifiers.
@Suite struct ModelSigningTests {
    /// A small model directory: two files at the top, one in a subdirectory.
    func modelDirectory() throws -> TempDir {
        let dir = TempDir()
        try AtomicFileWriter.write(Array(#"{"model_type":"mixtral"}"#.utf8), to: dir.file("config.json"))
        try AtomicFileWriter.write((0..<4096).map { UInt8($0 % 251) }, to: dir.file("model.safetensors"))
        try FileManager.default.createDirectory(atPath: dir.file("extra"), withIntermediateDirectories: true)
        try AtomicFileWriter.write(Array("notes\n".utf8), to: dir.file("extra/readme.txt"))
        return dir
    }

    func writeKeys(_ key: P256PrivateKey, in dir: TempDir) throws -> (privatePath: String, publicPath: String) {
        let (priv, pub) = (dir.file("release.key.pem"), dir.file("release.pub.pem"))
        try AtomicFileWriter.write(try key.pem(), to: priv, mode: 0o600)
        try AtomicFileWriter.write(try key.publicKey().pem, to: pub)
        return (priv, pub)
    }

    /// model-signing's own verifier, from PyPI (installed by scripts/setup.sh).
    func modelSigningVerifies(_ dir: String, publicKey: String) throws {
        _ = try runText(try interopPython(), ["-m", "model_signing", "verify", "key", dir,
                                              "--signature", dir + "/" + ModelSigningSignature.fileName, "--public_key", publicKey])
    }

    /// Each tamper of a signed directory, applied to a fresh copy, and the error code it must give here.
    static let tampers: [(what: String, code: String, apply: @Sendable (String) throws -> Void)] = [
        ("a changed file", "model_signing.digest_mismatch", { try AtomicFileWriter.write(Array(#"{"model_type":"llama"}"#.utf8), to: $0 + "/config.json") }),
        ("an extra file", "model_signing.extra_file", { try AtomicFileWriter.write(Array("x".utf8), to: $0 + "/added.bin") }),
        ("a missing file", "model_signing.missing_file", { try FileManager.default.removeItem(atPath: $0 + "/extra/readme.txt") }),
    ]

    func copy(_ dir: String, to name: String, under parent: TempDir) throws -> String {
        let out = parent.file(name)
        try FileManager.default.copyItem(atPath: dir, toPath: out)
        return out
    }

    @Test func aDirectoryTributarySignsVerifiesInModelSigningAndEachTamperFailsBoth() throws {
        let model = try modelDirectory(), keys = TempDir(), copies = TempDir()
        let key = try P256PrivateKey.generate()
        let (_, pub) = try writeKeys(key, in: keys)
        try ModelSigningSignature.sign(directory: model.path, name: "000001", key: key)
        let verified = try ModelSigningSignature.verify(directory: model.path, key: try key.publicKey())
        #expect(verified.modelName == "000001")
        #expect(verified.files.keys.sorted() == ["config.json", "extra/readme.txt", "model.safetensors"])
        try modelSigningVerifies(model.path, publicKey: pub)
        for (i, tamper) in Self.tampers.enumerated() {
            let dir = try copy(model.path, to: "tamper-\(i)", under: copies)
            try tamper.apply(dir)
            #expect(throws: TributaryError.self, "model-signing accepted \(tamper.what)") { try modelSigningVerifies(dir, publicKey: pub) }
            do {
                try ModelSigningSignature.verify(directory: dir, key: try key.publicKey())
                Issue.record("\(tamper.what) verified here")
            } catch let e as TributaryError {
                #expect(e.code == tamper.code, "\(tamper.what): \(e.code) \(e.message)")
            }
        }
    }

    @Test func aSignatureModelSigningMakesVerifiesHere() throws {
        let model = try modelDirectory(), keys = TempDir()
        let key = try P256PrivateKey.generate()
        let (priv, _) = try writeKeys(key, in: keys)
        _ = try runText(try interopPython(), ["-m", "model_signing", "sign", "key", model.path, "--private_key", priv,
                                              "--signature", model.file(ModelSigningSignature.fileName)])
        let verified = try ModelSigningSignature.verify(directory: model.path, key: try key.publicKey())
        #expect(verified.files.count == 3)
        #expect(verified.ignoredPaths.contains(ModelSigningSignature.fileName))
        try AtomicFileWriter.write(Array("changed".utf8), to: model.file("extra/readme.txt"))
        #expect(throws: TributaryError("model_signing.digest_mismatch", "extra/readme.txt hashes to \(Hex.encode(SHA256.digest(Array("changed".utf8))).prefix(16))…, the signature says \(verified.files["extra/readme.txt"]!.prefix(16))…")) {
            try ModelSigningSignature.verify(directory: model.path, key: try key.publicKey())
        }
    }

    @Test func anotherKeyOrAnAlteredStatementIsRefused() throws {
        let model = try modelDirectory()
        let key = try P256PrivateKey.generate(), other = try P256PrivateKey.generate()
        try ModelSigningSignature.sign(directory: model.path, name: "m", key: key)
        do {
            try ModelSigningSignature.verify(directory: model.path, key: try other.publicKey())
            Issue.record("verified under another key")
        } catch let e as TributaryError { #expect(e.code == "model_signing.wrong_key") }
        // The statement re-encoded with another digest, the signature and key hint kept.
        let bundle = try StrictJSONParser.parse(try readSmallFile(model.file(ModelSigningSignature.fileName), limit: 1 << 20))
        let payload = String(decoding: Base64.decodeLenient(bundle["dsseEnvelope"]!["payload"]!.stringValue!)!, as: UTF8.self)
        let forged = payload.replacingOccurrences(of: Hex.encode(SHA256.digest(Array(#"{"model_type":"mixtral"}"#.utf8))),
                                                  with: String(repeating: "0", count: 64))
        #expect(forged != payload)
        let text = String(decoding: try readSmallFile(model.file(ModelSigningSignature.fileName), limit: 1 << 20), as: UTF8.self)
            .replacingOccurrences(of: Base64.encode(Array(payload.utf8)), with: Base64.encode(Array(forged.utf8)))
        try AtomicFileWriter.write(Array(text.utf8), to: model.file(ModelSigningSignature.fileName))
        do {
            try ModelSigningSignature.verify(directory: model.path, key: try key.publicKey())
            Issue.record("an altered statement verified")
        } catch let e as TributaryError { #expect(e.code == "model_signing.bad_signature") }
        // Not JSON at all.
        try AtomicFileWriter.write(Array("not a bundle".utf8), to: model.file(ModelSigningSignature.fileName))
        #expect(throws: TributaryError.self) { try ModelSigningSignature.verify(directory: model.path, key: try key.publicKey()) }
    }

    @Test func aSymbolicLinkIsNeitherSignedNorVerified() throws {
        let model = try modelDirectory()
        let key = try P256PrivateKey.generate()
        try FileManager.default.createSymbolicLink(atPath: model.file("link.json"), withDestinationPath: model.file("config.json"))
        do {
            try ModelSigningSignature.sign(directory: model.path, name: "m", key: key)
            Issue.record("a directory with a symbolic link was signed")
        } catch let e as TributaryError { #expect(e.code == "model_signing.not_regular") }
        #expect(!FileManager.default.fileExists(atPath: model.file(ModelSigningSignature.fileName)))
    }

    @Test func keysThatAreNotP256AreRefusedClearly() throws {
        let key = try P256PrivateKey.generate()
        let again = try P256PrivateKey(pem: try key.pem())
        #expect(try again.publicKey().pem == key.publicKey().pem)
        let message = Array("message".utf8)
        #expect(try key.publicKey().verify(signature: try again.sign(message), message: message))
        #expect(try !key.publicKey().verify(signature: try again.sign(message), message: Array("other".utf8)))
        do {
            _ = try P256PrivateKey(pem: Array("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n".utf8))
            Issue.record("garbage read as a key")
        } catch let e as TributaryError { #expect(e.code == "key.invalid") }
        // An Ed25519 key in PEM (RFC 8410): a real key of the wrong type.
        let ed25519 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
        do {
            _ = try P256PrivateKey(pem: Array(ed25519.utf8))
            Issue.record("an Ed25519 key read as P-256")
        } catch let e as TributaryError { #expect(e.code == "key.wrong_type", "\(e.code) \(e.message)") }
    }
}
