import Testing
import TributaryCore
import TributaryLog

/// Signed requests' actions: what a client writes, the server and the auditor read back as the same
/// action; anything else in the parameters is refused.
@Suite struct SignedActionTests {
    static let actions: [SignedAction] = [
        .enrol(verifierKey: "acme+01020304+AAAA"), .rotateKey(organisation: "acme", verifierKey: "acme+05060708+BBBB"),
        .revokeKey(KeyRevocationParameters(keyID: "01020304", organisation: "acme", takedown: true)),
        .revokeContribution(contribution: 7), .takedown(contribution: 7, reason: "licence complaint"), .publishRelease,
    ]

    @Test func everyActionReadsBackAsWritten() throws {
        #expect(Set(Self.actions.map(\.kind.rawValue)) == Set(SignedAction.Kind.allCases.map(\.rawValue)))
        let key = try SigningKey.generate(name: "acme")
        for a in Self.actions {
            let (_, req) = try SignedRequest.parse(SignedRequest.make(origin: "example.com/log", action: a, key: key))
            #expect(try req.action(a.kind) == a)
        }
    }

    @Test func parametersAnActionDoesNotTakeAreRefused() throws {
        for a in Self.actions {
            guard case var .object(members) = a.parameters else { Issue.record("\(a.kind): parameters are not an object"); continue }
            members.append(("extra", .bool(true)))
            #expect(throws: RequestError.self, "\(a.kind) accepted an extra parameter") { _ = try SignedAction(kind: a.kind, parameters: .object(members)) }
        }
        #expect(throws: RequestError.self) { _ = try SignedAction(kind: .takedown, parameters: SignedAction.takedown(contribution: 1, reason: "").parameters) }
        let long = String(repeating: "x", count: SignedAction.maxReasonBytes + 1)
        #expect(throws: RequestError.self) { _ = try SignedAction(kind: .takedown, parameters: SignedAction.takedown(contribution: 1, reason: long).parameters) }
        #expect(throws: RequestError.self) { _ = try SignedAction(kind: .revokeContribution, parameters: .object([("contribution", .string("7"))])) }
    }

    @Test func aRequestForAnotherActionIsRefused() throws {
        let (_, req) = try SignedRequest.parse(SignedRequest.make(origin: "example.com/log", action: .publishRelease, key: try SigningKey.generate(name: "op")))
        #expect(throws: RequestError.wrongAction(expected: "enrol", got: "publish-release")) { _ = try req.action(.enrol) }
    }
}
