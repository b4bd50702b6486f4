import Foundation
import Hummingbird
import Testing
import TributaryAPI
import TributaryClient
import TributaryCore
import TributaryLog
@testable import TributaryAudit
import TributaryTestSupport

/// A server that answers as a hostile one might (issue 25): the client and the auditor report what is
/// wrong, and neither crashes. The fake is a few Hummingbird routes answering fixed bytes.
@Suite(.serialized) struct HostileServerTests {
    static func serve(_ routes: [(String, [UInt8])], _ body: @escaping @Sendable (TributaryClient) async throws -> Void) async throws {
        let router = Router()
        for (path, bytes) in routes {
            router.get(RouterPath(path)) { _, _ -> Response in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes))) }
        }
        try await withApplication(router) { port in try await body(try TributaryClient(server: "http://127.0.0.1:\(port)")) }
    }

    /// `verify-inclusion` against a server whose signed checkpoint covers the index but which returns
    /// no entries for it: a specific error (it indexed [0] of an empty list and trapped).
    @Test func inclusionCheckWithNoEntriesReportsIt() async throws {
        let key = try SigningKey.generate(name: "hostile.test/log")
        let tree = MemoryTree()
        _ = tree.append(entry: [1, 2, 3])
        let note = try Checkpoint(origin: key.name, size: 1, root: tree.root()).signed(by: key).serialized
        // A well-formed contribution answer at index 0 (`TributaryClient` refuses an incomplete one first).
        let sha = String(repeating: "ab", count: 32)
        let record = ContributionAnswer(logIndex: 0, organisation: "acme", keyID: "01020304", verifierKey: key.verifierKey.encoded, statementSHA256: sha,
                                        envelopeSHA256: sha, expertSHA256: sha, routingSHA256: sha, privacy: .null, revokedAt: nil, takenDownAt: nil)
        try await Self.serve([(APIPath.contributions, JSONWriter.serialize(record.json)), (APIPath.checkpoint, Array(note.utf8)),
                              (APIPath.logEntries, JSONWriter.serialize(LogEntriesAnswer(start: 0, entries: []).json))]) { client in
            do {
                _ = try await InclusionCheck.run(client: client, statement: Array("statement".utf8), logKey: key.verifierKey)
                Issue.record("an inclusion check without the entry passed")
            } catch let e as TributaryError {
                #expect(e.code == "inclusion.bad_response", "\(e)")
            }
        }
    }

    /// A checkpoint claiming far more entries than an audit reads is refused before any is fetched.
    @Test func anAuditRefusesACheckpointBeyondItsEntryBound() async throws {
        let key = try SigningKey.generate(name: "hostile.test/log")
        let note = try Checkpoint(origin: key.name, size: 1 << 40, root: [UInt8](repeating: 7, count: 32)).signed(by: key).serialized
        let state = scratchDirectory("hostile-audit-state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        try await Self.serve([("/checkpoint", Array(note.utf8))]) { client in
            let report = try await Auditor(source: ServerLogSource(client: client),
                                           options: AuditOptions(logKey: key.verifierKey, stateDirectory: state)).run()
            expectFinding(report, "audit.too_many_entries", "a checkpoint of 2^40 entries")
        }
    }

    /// Items an audit fetches are parsed strictly; an export's files are read only when regular.
    @Test func auditItemsAndExportFilesAreChecked() throws {
        for bad in ["blob/", "blob", "blob/../x", "blob/" + String(repeating: "a", count: 63), "release/1", "release/0/config.json",
                    "release/1/../../x", "anchor/", "anchor/secrets", "other/x"] {
            #expect(throws: AuditFailure.self, "\(bad)") { _ = try PublicItem(bad) }
        }
        _ = try PublicItem("blob/" + String(repeating: "a", count: 64))
        _ = try PublicItem("release/12/" + ReleaseLayout.manifestFile)
        let dir = scratchDirectory("hostile-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/entries", withDestinationPath: "/dev/zero")
        #expect(throws: (any Error).self) { _ = try ExportedLogSource.readEntries(dir + "/entries") }
    }
}
