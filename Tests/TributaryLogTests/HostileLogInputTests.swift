import Foundation
import Testing
import TributaryCore
@testable import TributaryLog

/// What a hostile server can put in front of a log reader (issue 25): refused, never a crash or a hang.
@Suite struct HostileLogInputTests {
    /// MTH's split for sizes above 2^63: the doubling loop wrapped to 0 and never ended.
    @Test func splitIsExactAtTheTopOfTheRange() {
        #expect(MerkleHash.split(2) == 1 && MerkleHash.split(3) == 2 && MerkleHash.split(4) == 2 && MerkleHash.split(5) == 4)
        #expect(MerkleHash.split((1 << 63) + 1) == 1 << 63)
        #expect(MerkleHash.split(UInt64.max) == 1 << 63)
        for n in UInt64(2)...1000 {
            let k = MerkleHash.split(n)
            #expect(k < n && n <= 2 * k && k.nonzeroBitCount == 1)
        }
    }

    static func manifest(expertSHA256: String) -> [UInt8] {
        let d = String(repeating: "a", count: 64)
        let json = JSONValue.object([
            ("release", .int(1)), ("createdAt", .string("2026-01-01T00:00:00Z")), ("logSize", .int(3)),
            ("anchor", .object([("sha256", .string(d))])), ("expertsPerToken", .int(2)),
            ("experts", .array([.object([("expert", .int(0)), ("source", .string("anchor"))]),
                                .object([("expert", .int(1)), ("source", .string("contribution")), ("contribution", .int(2)),
                                         ("organisation", .string("acme")), ("statementSHA256", .string(d)),
                                         ("expertSHA256", .string(expertSHA256)), ("routingSHA256", .string(d))])])),
            ("files", .object(ReleaseLayout.requiredFiles.map { ($0, .string(d)) })),
        ])
        return JSONWriter.serialize(json)
    }

    /// A manifest whose digests are not digests (empty, a path) is refused at parsing: the auditor
    /// fetched `blob/` + the digest and crashed on an empty one.
    @Test func aManifestDigestThatIsNotADigestIsRefused() throws {
        _ = try ReleaseManifest.parse(Self.manifest(expertSHA256: String(repeating: "b", count: 64)))
        for bad in ["", "/", "../../etc/passwd", String(repeating: "B", count: 64), String(repeating: "b", count: 63)] {
            #expect(throws: LogError.self, "\(bad.debugDescription)") { _ = try ReleaseManifest.parse(Self.manifest(expertSHA256: bad)) }
        }
    }

    /// A contribution entry's file digests name blobs an exporter writes to disk: never a path.
    @Test func aContributionEntryWithAPathForADigestIsRefused() throws {
        let good = LogEntry.contribution(organisation: "acme", keyID: "00112233", time: "2026-01-01T00:00:00Z", envelope: [1, 2, 3],
                                         files: Dictionary(uniqueKeysWithValues: BundleLayout.subjectFiles.map { ($0, String(repeating: "c", count: 64)) }))
        _ = try LogEntry.parse(good.bytes)
        let evil = LogEntry.contribution(organisation: "acme", keyID: "00112233", time: "2026-01-01T00:00:00Z", envelope: [1, 2, 3],
                                         files: Dictionary(uniqueKeysWithValues: BundleLayout.subjectFiles.map { ($0, "../../../home/u/.bashrc") }))
        #expect(throws: LogError.self) { _ = try LogEntry.parse(evil.bytes) }
    }
}
