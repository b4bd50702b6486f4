import Foundation
import Testing
@testable import TributaryCore

/// A signed tiny bundle in a temp dir, plus its key.
struct SignedFixture {
    let dir = TempDir()
    let key: SigningKey
    var bundle: String { dir.path + "/bundle" }

    init() throws {
        key = try SigningKey.generate(name: "acme")
        try FileManager.default.createDirectory(atPath: dir.path + "/bundle", withIntermediateDirectories: true)
        try TestVectors.writeUnsignedBundle(to: dir.path + "/bundle")
        try ContributionBundle.sign(directory: dir.path + "/bundle", key: key, origin: "tributary.test/log")
    }

    func path(_ name: String) -> String { bundle + "/" + name }

    func rewrite(_ name: String, _ transform: ([UInt8]) -> [UInt8]) throws {
        let old = [UInt8](FileManager.default.contents(atPath: path(name))!)
        try AtomicFileWriter.write(transform(old), to: path(name))
    }

    /// Re-signs a modified statement so only the property under test is wrong.
    func resign(statement: [UInt8], with signer: SigningKey? = nil) throws {
        try AtomicFileWriter.write(statement, to: path(BundleLayout.statementFile))
        let env = DSSEEnvelope.sign(payload: statement, payloadType: DSSEEnvelope.inTotoPayloadType, key: signer ?? key)
        try AtomicFileWriter.write(env.serialized(), to: path(BundleLayout.envelopeFile))
    }
}

func replacing(_ a: String, _ b: String) -> ([UInt8]) -> [UInt8] {
    { Array(String(decoding: $0, as: UTF8.self).replacingOccurrences(of: a, with: b).utf8) }
}

@Suite struct BundleTests {
    @Test func signThenVerifyRoundTrip() throws {
        let f = try SignedFixture()
        let v = try ContributionBundle.verify(directory: f.bundle, keys: [f.key.verifierKey])
        #expect(v.predicate.organisation == "acme")
        #expect(v.predicate.keyID == f.key.verifierKey.keyIDHex)
        #expect(v.predicate.expert.layers == Array(0..<TestVectors.layers))
        #expect(v.predicate.routing == TestVectors.routingParameters())
        #expect(v.predicate.training == TestVectors.trainingSummary())
        #expect(v.statementBytes == [UInt8](FileManager.default.contents(atPath: f.path("statement.json"))!))
        #expect(v.digests[BundleLayout.expertFile] == Hex.encode(try SHA256.digest(fileAt: f.path(BundleLayout.expertFile)).digest))
    }

    @Test func twoSignaturesOfTheSameFilesDifferByNonce() throws {
        let f = try SignedFixture()
        let first = try ContributionBundle.verify(directory: f.bundle, keys: [f.key.verifierKey]).predicate.nonce
        try ContributionBundle.sign(directory: f.bundle, key: f.key, origin: "tributary.test/log")
        let second = try ContributionBundle.verify(directory: f.bundle, keys: [f.key.verifierKey]).predicate.nonce
        #expect(first != second)
    }

    /// Each bad input: how to break the bundle, and the error it must produce.
    static let cases: [(String, @Sendable (SignedFixture) throws -> Void, @Sendable (Error) -> Bool)] = [
        ("tampered expert file", { f in try f.rewrite(BundleLayout.expertFile) { var b = $0; b[b.count - 1] ^= 1; return b } },
         { ($0 as? BundleError)?.code == "bundle.digest_mismatch" }),
        ("tampered statement", { f in try f.rewrite(BundleLayout.statementFile, replacing("\"steps\":10", "\"steps\":11")) },
         { ($0 as? BundleError) == .statementMismatch }),
        ("tampered payload", { f in
            let env = try DSSEEnvelope.parse(try readSmallFile(f.path(BundleLayout.envelopeFile), limit: 1 << 20))
            let bent = Array(String(decoding: env.payload, as: UTF8.self).replacingOccurrences(of: "\"steps\":10", with: "\"steps\":11").utf8)
            try AtomicFileWriter.write(DSSEEnvelope(payloadType: env.payloadType, payload: bent, signatures: env.signatures).serialized(),
                                       to: f.path(BundleLayout.envelopeFile))
            try AtomicFileWriter.write(bent, to: f.path(BundleLayout.statementFile))
        }, { ($0 as? BundleError)?.code == "bundle.signature_invalid" }),
        ("wrong key", { f in
            let mallory = try SigningKey.generate(name: "acme")
            let statement = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: statement, with: mallory)
        }, { ($0 as? BundleError)?.code == "bundle.signature_invalid" }),
        ("truncated envelope", { f in try f.rewrite(BundleLayout.envelopeFile) { Array($0.prefix($0.count / 2)) } },
         { ($0 as? EnvelopeError)?.code == "envelope.malformed" }),
        ("non-base64 signature", { f in try f.rewrite(BundleLayout.envelopeFile, replacing("\"sig\":\"", "\"sig\":\"!!")) },
         { ($0 as? EnvelopeError) == .badBase64("signatures[0].sig") }),
        ("missing file", { f in try FileManager.default.removeItem(atPath: f.path(BundleLayout.routingFile)) },
         { ($0 as? BundleError) == .missingFile(BundleLayout.routingFile) }),
        ("extra file", { f in try AtomicFileWriter.write(bytes("hi"), to: f.path("notes.txt")) },
         { ($0 as? BundleError) == .extraFile("notes.txt") }),
        ("symlink", { f in
            try FileManager.default.removeItem(atPath: f.path(BundleLayout.routingFile))
            try FileManager.default.createSymbolicLink(atPath: f.path(BundleLayout.routingFile), withDestinationPath: "/etc/passwd")
        }, { ($0 as? BundleError) == .symlink(BundleLayout.routingFile) }),
        ("dot-dot name on disk", { f in try AtomicFileWriter.write(bytes("x"), to: f.path("..evil")) },
         { ($0 as? BundleError) == .badName("..evil") }),
        ("control character name", { f in try AtomicFileWriter.write(bytes("x"), to: f.path("a\u{1}b")) },
         { ($0 as? BundleError) == .badName("a\u{1}b") }),
        ("subject ../name", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"name\":\"routing.safetensors\"", "\"name\":\"../routing.safetensors\"")(s))
        }, { ($0 as? BundleError) == .badName("../routing.safetensors") }),
        ("subject list wrong", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"name\":\"routing.safetensors\"", "\"name\":\"expert.safetensors\"")(s))
        }, { ($0 as? BundleError)?.code == "bundle.wrong_subjects" }),
        ("statement claims another organisation", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"organisation\":\"acme\"", "\"organisation\":\"globex\"")(s))
        }, { ($0 as? BundleError)?.code == "bundle.key_mismatch" }),
        ("statement with unknown field", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"nonce\":", "\"bonus\":1,\"nonce\":")(s))
        }, { ($0 as? StatementError) == .schema("predicate.bonus: unknown field") }),
        ("statement with duplicate key", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"nonce\":", "\"organisation\":\"acme\",\"nonce\":")(s))
        }, { ($0 as? StatementError)?.code == "statement.malformed" }),
        // Free text reaches a log entry every auditor reads forever: a 64 KB "recipe" is refused.
        ("64 KB of free text in a label", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"recipe\":\"flexolmo-v1\"", "\"recipe\":\"" + String(repeating: "x", count: 65_536) + "\"")(s))
        }, { if case let .schema(m)? = $0 as? StatementError { return m.contains("recipe") && m.contains("1 to 64") } else { return false } }),
        ("a label with spaces", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"recipe\":\"flexolmo-v1\"", "\"recipe\":\"flexolmo v1\"")(s))
        }, { if case let .schema(m)? = $0 as? StatementError { return m.contains("recipe") } else { return false } }),
        ("wrong payload type", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            let env = DSSEEnvelope.sign(payload: s, payloadType: "application/json", key: f.key)
            try AtomicFileWriter.write(env.serialized(), to: f.path(BundleLayout.envelopeFile))
        }, { ($0 as? BundleError) == .wrongPayloadType("application/json") }),
        ("expert layout differs from statement", { f in
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            try f.resign(statement: replacing("\"intermediateSize\":8", "\"intermediateSize\":9")(s))
        }, { ($0 as? BundleError)?.code == "bundle.expert_layout" }),
        ("truncated safetensors", { f in
            // Consistent statement over a broken file: digests match, parsing must still fail.
            try f.rewrite(BundleLayout.expertFile) { Array($0.prefix($0.count - 4)) }
            let s = try readSmallFile(f.path(BundleLayout.statementFile), limit: 1 << 20)
            let digest = Hex.encode(try SHA256.digest(fileAt: f.path(BundleLayout.expertFile)).digest)
            let old = try InTotoStatement.parse(s).subjects[0].sha256
            try f.resign(statement: replacing(old, digest)(s))
        }, { ($0 as? SafetensorsError)?.code == "safetensors.buffer_size_mismatch" }),
    ]

    @Test(arguments: cases.indices)
    func rejectsBadBundle(index: Int) throws {
        let (label, breakIt, matches) = Self.cases[index]
        let f = try SignedFixture()
        try breakIt(f)
        let before = snapshot(f.dir.path)
        do {
            _ = try ContributionBundle.verify(directory: f.bundle, keys: [f.key.verifierKey])
            Issue.record("\(label): verification succeeded")
        } catch {
            #expect(matches(error), "\(label): got \(error)")
        }
        #expect(snapshot(f.dir.path) == before, "\(label): verification changed files")
    }

    @Test func signRefusesBadMetadataAndWritesNothing() throws {
        let dir = TempDir()
        let key = try SigningKey.generate(name: "acme")
        var w = SafetensorsWriter()
        w.add(TensorNames.bundleW1(0), shape: [8, 4], values: .init(repeating: 0, count: 32))
        w.add(TensorNames.bundleW2(0), shape: [4, 8], values: .init(repeating: 0, count: 32))
        w.add(TensorNames.bundleW3(0), shape: [8, 4], values: .init(repeating: 0, count: 32))
        try w.write(to: dir.file(BundleLayout.expertFile))
        var r = SafetensorsWriter()
        r.add(TensorNames.centroids, shape: [1, 4], values: [0, 0, 0, 0])
        r.add(TensorNames.centroidCounts, shape: [1], values: [40])
        r.add(TensorNames.routerRows, shape: [1, 4], values: [0, 0, 0, 0])
        try r.write(to: dir.file(BundleLayout.routingFile))
        let before = snapshot(dir.path)
        #expect(throws: BundleError.metadata(file: BundleLayout.expertFile, problem: "missing \(BundleLayout.anchorMetadataKey)")) {
            try ContributionBundle.sign(directory: dir.path, key: key, origin: "tributary.test/log")
        }
        #expect(snapshot(dir.path) == before)
    }

    @Test func expertLayoutChecksShapes() throws {
        let dir = TempDir()
        var w = SafetensorsWriter()
        w.add(TensorNames.bundleW1(0), shape: [8, 4], values: .init(repeating: 0, count: 32))
        w.add(TensorNames.bundleW2(0), shape: [8, 4], values: .init(repeating: 0, count: 32))
        w.add(TensorNames.bundleW3(0), shape: [8, 4], values: .init(repeating: 0, count: 32))
        try w.write(to: dir.file("e.safetensors"))
        #expect(throws: BundleError.expertLayout("layers.0.w2.weight has shape [8, 4], expected [4, 8]")) {
            _ = try BundleLayout.expertLayout(of: try SafetensorsFile(path: dir.file("e.safetensors")).header)
        }
    }
}

@Suite struct TestVectorTests {
    /// Regenerates every vector from the fixed seeds and compares it with the committed file.
    @Test func vectorsAreReproducedByteForByte() throws {
        let dir = TempDir()
        try TestVectors.write(to: dir.path)
        for name in TestVectors.files {
            let committed = FileManager.default.contents(atPath: packageRoot + "/protocol/test-vectors/" + name)
            #expect(committed != nil, "\(name) is not committed")
            #expect(committed == FileManager.default.contents(atPath: dir.file(name)), "\(name) differs from the committed vector")
        }
    }

    @Test func committedBundleVerifiesUnderCommittedKey() throws {
        let root = packageRoot + "/protocol/test-vectors"
        let key = try VerifierKey(parsing: String(decoding: try readSmallFile(root + "/key.pub", limit: 4096), as: UTF8.self))
        let v = try ContributionBundle.verify(directory: root + "/bundle", keys: [key])
        let digests = try StrictJSONParser.parse(try readSmallFile(root + "/digests.json", limit: 4096))
        for name in BundleLayout.subjectFiles { #expect(digests[name] == .string(v.digests[name]!)) }
        let pae = try readSmallFile(root + "/statement.pae", limit: 1 << 20)
        #expect(pae == preAuthEncoding(payloadType: DSSEEnvelope.inTotoPayloadType, payload: v.statementBytes))
        #expect(key.verify(signature: v.envelope.signatures[0].sig, message: pae))
        #expect(try readSmallFile(root + "/dsse-spec-example.pae", limit: 4096) == bytes(TestVectors.dsseSpecExample.pae))
        #expect(v.statement.predicateType == ContributionPredicate.type && v.predicate.routing.space == TestVectors.space)
    }

    /// A v2 bundle (made before signature spaces; frozen in protocol/test-vectors/v2) still verifies
    /// and is read as v2: centroids in the anchor's whole hidden state, no space.
    @Test func v2BundleIsStillReadByItsVersion() throws {
        let root = packageRoot + "/protocol/test-vectors"
        let key = try VerifierKey(parsing: String(decoding: try readSmallFile(root + "/key.pub", limit: 4096), as: UTF8.self))
        let v = try ContributionBundle.verify(directory: root + "/v2/bundle", keys: [key])
        #expect(v.statement.predicateType == ContributionPredicate.typeV2)
        #expect(v.predicate.routing.space == nil && v.predicate.routing.centroidDimension == TestVectors.hidden)
        // A v2 statement naming a space, or a v3 one without, is refused: never misread.
        var json = v.statement.predicate
        if case var .object(members) = json, let i = members.firstIndex(where: { $0.0 == "routing" }), case var .object(r) = members[i].1 {
            r.append(("space", TestVectors.space.json))
            members[i].1 = .object(r)
            json = .object(members)
        }
        #expect(throws: JSONSchemaError.self) { _ = try ContributionPredicate(json: json, type: ContributionPredicate.typeV2) }
        #expect(throws: JSONSchemaError.self) { _ = try ContributionPredicate(json: v.statement.predicate, type: ContributionPredicate.type) }
        #expect((try? ContributionPredicate(json: json, type: ContributionPredicate.type)) != nil)
    }
}
