import Foundation
import Testing
@testable import TributaryCore

@Suite struct CryptoTests {
    @Test func sha256KnownAnswers() {
        // FIPS 180-2 examples.
        #expect(Hex.encode(SHA256.digest(bytes(""))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.digest(bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256StreamsFilesAndMatchesOneShot() throws {
        let dir = TempDir()
        var data = [UInt8](repeating: 0, count: 3 * (1 << 20) + 12345)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 7) }
        try AtomicFileWriter.write(data, to: dir.file("big"))
        let (d, size) = try SHA256.digest(fileAt: dir.file("big"))
        #expect(size == UInt64(data.count))
        #expect(d == SHA256.digest(data))
    }

    @Test func sha256RefusesSymlinks() throws {
        let dir = TempDir()
        try AtomicFileWriter.write(bytes("x"), to: dir.file("real"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: dir.file("real"))
        #expect(throws: FileSystemError.self) { _ = try SHA256.digest(fileAt: dir.file("link")) }
    }

    @Test func blake2bKnownAnswer() {
        // RFC 7693 Appendix A: BLAKE2b-512("abc").
        #expect(Hex.encode(BLAKE2b.hash(bytes("abc"), outputLength: 64)) ==
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    // Go's golang.org/x/mod/sumdb/note example key and signature (note.go package documentation).
    static let goSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let goNote = goText + "\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test func signedNoteKeyIDAndKeyFormatsMatchGo() throws {
        let signer = try SigningKey.parse(privateKey: Self.goSigner)
        #expect(signer.verifierKey.encoded == Self.goVerifier)
        #expect(Hex.encode(signer.keyID) == "c74f20a3")
        #expect(signer.encodedPrivateKey() == Self.goSigner)
        let parsed = try VerifierKey(parsing: Self.goVerifier)
        #expect(parsed.keyIDHex == "c74f20a3")
        #expect(parsed == signer.verifierKey)
    }

    @Test func signedNoteSignatureMatchesGoByteForByte() throws {
        let signer = try SigningKey.parse(privateKey: Self.goSigner)
        let note = try SignedNote.sign(text: Self.goText, with: signer)
        #expect(note.serialized == Self.goNote)
        let reparsed = try SignedNote.parse(bytes(Self.goNote))
        #expect(try reparsed.verify(keys: [try VerifierKey(parsing: Self.goVerifier)]).count == 1)
    }

    @Test func c2spSpecExampleNoteVerifies() throws {
        // C2SP signed-note.md example.
        let key = try VerifierKey(parsing: "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        let parsed = try SignedNote.parse(bytes(note))
        #expect(parsed.text == "This is an example message.\n")
        #expect(try parsed.verify(keys: [key]) == [key])
    }

    @Test func signedNoteRejectsTamperingAndUnknownSigners() throws {
        let signer = try SigningKey.parse(privateKey: Self.goSigner)
        let tampered = Self.goNote.replacingOccurrences(of: "cryptography", with: "cryptographx")
        #expect(throws: NoteError.badSignature("PeterNeumann")) {
            _ = try SignedNote.parse(bytes(tampered)).verify(keys: [signer.verifierKey])
        }
        let other = try SigningKey.generate(name: "Other")
        #expect(throws: NoteError.unverified(["PeterNeumann"])) {
            _ = try SignedNote.parse(bytes(Self.goNote)).verify(keys: [other.verifierKey])
        }
        #expect(throws: NoteError.self) { _ = try SignedNote.parse(bytes("no signatures\n")) }
    }

    @Test func verifierKeyRejectsManglings() {
        // Go's note_test.go: wrong key ID, wrong algorithm, wrong length.
        for bad in ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
                    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+c74f20a3", ""] {
            #expect(throws: KeyFormatError.self) { _ = try VerifierKey(parsing: bad) }
        }
    }

    @Test func ed25519SignVerify() throws {
        let key = try SigningKey.generate(name: "acme")
        let sig = key.sign(bytes("message"))
        #expect(key.verifierKey.verify(signature: sig, message: bytes("message")))
        #expect(!key.verifierKey.verify(signature: sig, message: bytes("messagf")))
        var bent = sig
        bent[0] ^= 1
        #expect(!key.verifierKey.verify(signature: bent, message: bytes("message")))
        #expect(!key.verifierKey.verify(signature: Array(sig.prefix(63)), message: bytes("message")))
        let reparsed = try SigningKey.parse(privateKey: key.encodedPrivateKey())
        #expect(reparsed.publicKey == key.publicKey)
    }

    @Test func dssePAEMatchesSpecExample() {
        let e = TestVectors.dsseSpecExample
        #expect(preAuthEncoding(payloadType: e.type, payload: bytes(e.body)) == bytes(e.pae))
        #expect(preAuthEncoding(payloadType: "", payload: [UInt8]()) == bytes("DSSEv1 0  0 "))
    }

    @Test func envelopeParsesStrictlyAndVerifies() throws {
        let key = try SigningKey.generate(name: "acme")
        let env = DSSEEnvelope.sign(payload: bytes("{}"), payloadType: DSSEEnvelope.inTotoPayloadType, key: key)
        let parsed = try DSSEEnvelope.parse(env.serialized())
        #expect(parsed == env)
        #expect(parsed.isSigned(by: key.verifierKey))
        let other = try SigningKey.generate(name: "acme")
        #expect(!parsed.isSigned(by: other.verifierKey))
        // URL-safe unpadded base64 is accepted, as DSSE requires.
        let urlSafe = #"{"payload":"e30","payloadType":"t","signatures":[{"sig":"-_8"}]}"#
        #expect(try DSSEEnvelope.parse(bytes(urlSafe)).signatures[0].sig == [0xfb, 0xff])
        #expect(throws: EnvelopeError.noSignatures) {
            _ = try DSSEEnvelope.parse(bytes(#"{"payload":"e30","payloadType":"t","signatures":[]}"#))
        }
        #expect(throws: EnvelopeError.badBase64("signatures[0].sig")) {
            _ = try DSSEEnvelope.parse(bytes(#"{"payload":"e30","payloadType":"t","signatures":[{"sig":"%%%"}]}"#))
        }
    }
}
