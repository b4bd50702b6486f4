import Foundation
import Testing
@testable import TributaryServer
import TributaryTestSupport

/// protocol/openapi.yaml documents exactly the routes the server has: a route missing from the
/// document, or a documented route the server lacks, fails this test.
@Suite struct OpenAPITests {
    /// (METHOD, path) pairs from the document's `paths:` section (two-space path keys, four-space methods).
    static func documented() throws -> Set<String> {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let text = try String(contentsOf: root.appendingPathComponent("protocol/openapi.yaml"), encoding: .utf8)
        var out = Set<String>(), path: String?, inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); continue }
            for m in ["get", "post", "put", "delete", "patch"] where line == "    \(m):" {
                if let path { out.insert("\(m.uppercased()) \(path)") }
            }
        }
        return out
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let f = try await Fixture.shared.value
        let dir = scratchDirectory("openapi")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await AggregationServer.open(f.serverConfig(dir))
        let routes = Set(ServerApplication.router(for: server).routes.map { "\($0.method) \($0.path)" })
        let doc = try Self.documented()
        #expect(doc.count >= 20)
        #expect(routes.subtracting(doc).isEmpty, "routes missing from openapi.yaml: \(routes.subtracting(doc).sorted())")
        #expect(doc.subtracting(routes).isEmpty, "documented routes the server lacks: \(doc.subtracting(routes).sorted())")
    }
}
