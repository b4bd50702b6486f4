import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryDemo
import TributaryTestSupport

/// The demo's held-out text: documents cut at a line end within the byte budget, then taken whole
/// until the domain's budget is met; the same on every call.
@Suite struct DemoHeldOutTests {
    @Test func documentsAreCutAtLineEndsAndTheBudgetTakesWholeDocuments() throws {
        let dir = scratchDirectory("heldout")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for i in 0..<400 {
            let lines = (0..<40).map { "document \(i) line \($0) " + String(repeating: "x", count: $0 % 7) }
            try AtomicFileWriter.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: dir + "/\(i).txt")
        }
        let all = try DemoHeldOut.load(dir)
        let cut = try DemoHeldOut.load(dir, maxBytes: 1500, documentBytes: 300)
        #expect(all.documents.count > 10)
        #expect(cut.documents.allSatisfy { $0.bytes.count <= 300 && $0.bytes.last == 0x0a })
        // Whole documents until at least the budget: the last one may cross it, one fewer may not reach it.
        #expect(cut.totalBytes >= 1500 && cut.totalBytes - cut.documents.last!.bytes.count < 1500)
        // Each cut document is the beginning of a held-out one, in the same order.
        for (c, d) in zip(cut.documents, all.documents) { #expect(Array(d.bytes.prefix(c.bytes.count)) == c.bytes) }
        #expect(try DemoHeldOut.load(dir, maxBytes: 1500, documentBytes: 300).documents.map(\.bytes) == cut.documents.map(\.bytes))
    }

    @Test func corpusPrefixTakesEverythingWhenTheBudgetExceedsIt() {
        let c = Corpus(documents: (0..<5).map { Corpus.Document(source: "\($0)", bytes: [UInt8](repeating: 65, count: 100)) })
        #expect(c.prefix(bytes: 10_000).documents.count == 5)
        #expect(c.prefix(bytes: 250).documents.count == 3)
        #expect(c.prefix(bytes: 0).documents.isEmpty)
    }
}
