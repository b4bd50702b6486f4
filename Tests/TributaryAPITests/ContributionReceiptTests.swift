import Testing
import TributaryAPI
import TributaryCore

@Suite struct ContributionReceiptTests {
    static let receipt = ContributionReceipt(logIndex: 3, leafHash: [UInt8](repeating: 7, count: 32), statementSHA256: String(repeating: "ab", count: 32),
                                             treeSize: 5, checkpoint: "example.com/log\n5\nAAAA\n", inclusionProof: [[UInt8](repeating: 1, count: 32)])

    /// What the server writes, every client reads back as the same receipt.
    @Test func roundTrips() throws {
        let text = JSONWriter.string(Self.receipt.json)
        #expect(try ContributionReceipt(json: try StrictJSONParser.parse(Array(text.utf8))) == Self.receipt)
    }

    /// A missing or mistyped field is a bad response naming the field, never a default.
    @Test func incompleteReceiptsAreRefused() throws {
        guard case let .object(members) = Self.receipt.json else { Issue.record("not an object"); return }
        for (dropped, _) in members {
            do {
                _ = try ContributionReceipt(json: .object(members.filter { $0.0 != dropped }))
                Issue.record("a receipt without \(dropped) was read")
            } catch let e as TributaryError {
                #expect(e.code == "client.bad_response" && e.message.contains(dropped), "\(e)")
            }
        }
        var short = members
        short[1] = ("leafHash", .string(Base64.encode([1, 2, 3])))
        #expect(throws: TributaryError.self) { _ = try ContributionReceipt(json: .object(short)) }
    }
}
