import Foundation
import Testing
import TributaryCore

@Suite struct KeygenSignVerifyCLITests {
    /// keygen, then a bundle signed by the CLI and verified by the CLI.
    func signedBundle(_ dir: TempDir) throws -> (bundle: String, pub: String) {
        let r = try tributary("keygen", "--name", "acme", "--out", dir.file("keys"))
        #expect(r.status == 0, "\(r.stderr)")
        let bundle = dir.file("bundle")
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try TestVectors.writeUnsignedBundle(to: bundle)
        let s = try tributary("sign", bundle, "--key", dir.file("keys/acme.key"), "--origin", "cli.test/log")
        #expect(s.status == 0, "\(s.stderr)")
        return (bundle, dir.file("keys/acme.pub"))
    }

    @Test func keygenWritesC2SPKeysWithPrivateMode() throws {
        let dir = TempDir()
        let r = try tributary("keygen", "--name", "acme", "--out", dir.path, "--json")
        #expect(r.status == 0)
        var st = stat()
        #expect(stat(dir.file("acme.key"), &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        let pub = try VerifierKey(parsing: String(contentsOfFile: dir.file("acme.pub"), encoding: .utf8))
        #expect(pub.name == "acme")
        #expect(r.stdout.contains(pub.encoded))
        let priv = try SigningKey.parse(privateKey: String(contentsOfFile: dir.file("acme.key"), encoding: .utf8))
        #expect(priv.verifierKey == pub)
    }

    @Test func keygenNeverOverwritesAndChecksNames() throws {
        let dir = TempDir()
        try tributary("keygen", "--name", "acme", "--out", dir.path)
        let before = snapshot(dir.path)
        let again = try tributary("keygen", "--name", "acme", "--out", dir.path)
        #expect(again.status == 1)
        #expect(again.errorCode == "key.exists")
        #expect(snapshot(dir.path) == before)
        let bad = try tributary("keygen", "--name", "a+b", "--out", dir.path)
        #expect(bad.errorCode == "key.invalid_name")
        #expect(snapshot(dir.path) == before)
    }

    @Test func roundTripSignVerifyInspect() throws {
        let dir = TempDir()
        let (bundle, pub) = try signedBundle(dir)
        let v = try tributary("verify", bundle, "--pubkey", pub)
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("OK"))
        let j = try tributary("verify", bundle, "--pubkey", pub, "--json")
        let json = try StrictJSONParser.parse(Array(j.stdout.utf8))
        #expect(json["verified"] == .bool(true))
        #expect(json["organisation"] == .string("acme"))
        let i = try tributary("inspect", bundle)
        #expect(i.stdout.contains("organisation:  acme"))
        let t = try tributary("inspect", bundle + "/expert.safetensors", "--json")
        let tj = try StrictJSONParser.parse(Array(t.stdout.utf8))
        guard case let .array(tensors)? = tj["tensors"] else { Issue.record("no tensors"); return }
        #expect(tensors.count == 3 * TestVectors.layers)
    }

    @Test func signRefusesAKeyOthersCanRead() throws {
        let dir = TempDir()
        let (bundle, _) = try signedBundle(dir)
        chmod(dir.file("keys/acme.key"), 0o644)
        let before = snapshot(dir.path)
        let r = try tributary("sign", bundle, "--key", dir.file("keys/acme.key"), "--origin", "cli.test/log")
        #expect(r.status == 1)
        #expect(r.errorCode == "key.permissions")
        #expect(snapshot(dir.path) == before)
    }

    static let badBundles: [(String, @Sendable (String) throws -> Void, String)] = [
        ("tampered file", { b in
            var d = [UInt8](FileManager.default.contents(atPath: b + "/expert.safetensors")!)
            d[d.count - 1] ^= 0x40
            try AtomicFileWriter.write(d, to: b + "/expert.safetensors")
        }, "bundle.digest_mismatch"),
        ("tampered statement", { b in
            let s = try String(contentsOfFile: b + "/statement.json", encoding: .utf8).replacingOccurrences(of: "\"steps\":10", with: "\"steps\":99")
            try AtomicFileWriter.write(Array(s.utf8), to: b + "/statement.json")
        }, "bundle.statement_mismatch"),
        ("truncated envelope", { b in
            let d = FileManager.default.contents(atPath: b + "/envelope.json")!
            try AtomicFileWriter.write([UInt8](d.prefix(40)), to: b + "/envelope.json")
        }, "envelope.malformed"),
        ("non-base64 signature", { b in
            let s = try String(contentsOfFile: b + "/envelope.json", encoding: .utf8).replacingOccurrences(of: "\"sig\":\"", with: "\"sig\":\"*")
            try AtomicFileWriter.write(Array(s.utf8), to: b + "/envelope.json")
        }, "envelope.bad_base64"),
        ("missing file", { b in try FileManager.default.removeItem(atPath: b + "/routing.safetensors") }, "bundle.missing_file"),
        ("extra file", { b in try AtomicFileWriter.write(Array("x".utf8), to: b + "/README") }, "bundle.extra_file"),
        ("symlink", { b in
            try FileManager.default.removeItem(atPath: b + "/expert.safetensors")
            try FileManager.default.createSymbolicLink(atPath: b + "/expert.safetensors", withDestinationPath: "/dev/zero")
        }, "bundle.symlink"),
        ("../name", { b in try AtomicFileWriter.write(Array("x".utf8), to: b + "/..hidden") }, "bundle.bad_name"),
    ]

    @Test(arguments: badBundles.indices)
    func verifyRejectsBadBundle(index: Int) throws {
        let (label, breakIt, code) = Self.badBundles[index]
        let dir = TempDir()
        let (bundle, pub) = try signedBundle(dir)
        try breakIt(bundle)
        let before = snapshot(dir.path)
        let r = try tributary("verify", bundle, "--pubkey", pub)
        #expect(r.status == 1, "\(label)")
        #expect(r.errorCode == code, "\(label): \(r.stderr)")
        #expect(snapshot(dir.path) == before, "\(label)")
    }

    @Test func verifyRejectsWrongKey() throws {
        let dir = TempDir()
        let (bundle, _) = try signedBundle(dir)
        try tributary("keygen", "--name", "acme", "--out", dir.file("other"))
        let r = try tributary("verify", bundle, "--pubkey", dir.file("other/acme.pub"))
        #expect(r.status == 1)
        #expect(r.errorCode == "bundle.signature_invalid")
    }
}

@Suite struct InspectCLITests {
    static let f32 = #"{"dtype":"F32","shape":[2],"data_offsets":"#
    static let badFiles: [(String, [UInt8], String)] = [
        ("truncated", [7, 0, 0, 0], "safetensors.truncated"),
        ("header longer than file", safetensorsBytes(header: "{}", claimedLength: 4096), "safetensors.header_out_of_bounds"),
        ("200 MB header claim", safetensorsBytes(header: "{}", claimedLength: 200_000_000), "safetensors.header_too_large"),
        ("overlapping offsets", safetensorsBytes(header: #"{"a":\#(f32)[0,8]},"b":\#(f32)[4,12]}}"#, data: 12), "safetensors.overlapping_offsets"),
        ("gap", safetensorsBytes(header: #"{"a":\#(f32)[0,8]},"b":\#(f32)[16,24]}}"#, data: 24), "safetensors.gap"),
        ("unknown dtype", safetensorsBytes(header: #"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, data: 8), "safetensors.unknown_dtype"),
        ("shape/byte mismatch", safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#, data: 8), "safetensors.shape_mismatch"),
        ("duplicate names", safetensorsBytes(header: #"{"a":\#(f32)[0,8]},"a":\#(f32)[8,16]}}"#, data: 16), "safetensors.duplicate_tensor"),
        ("non-UTF-8 header", safetensorsBytes(header: "{\"\u{e9}\":1}").map { $0 == 0xc3 ? 0xfe : $0 }, "safetensors.header_not_utf8"),
    ]

    @Test(arguments: badFiles.indices)
    func inspectRejectsMalformedSafetensors(index: Int) throws {
        let (label, content, code) = Self.badFiles[index]
        let dir = TempDir()
        try AtomicFileWriter.write(content, to: dir.file("bad.safetensors"))
        let before = snapshot(dir.path)
        let r = try tributary("inspect", dir.file("bad.safetensors"))
        #expect(r.status == 1, "\(label)")
        #expect(r.errorCode == code, "\(label): \(r.stderr)")
        #expect(snapshot(dir.path) == before)
    }

    @Test func everyBadInputHasADistinctCode() {
        let codes = Self.badFiles.map(\.2) + KeygenSignVerifyCLITests.badBundles.map(\.2)
        #expect(Set(codes).count == codes.count)
    }
}
