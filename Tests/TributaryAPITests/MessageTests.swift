import Testing
import TributaryAPI
import TributaryCore
import TributaryLog

/// Every typed answer: what the server writes, a client reads back as the same value; a missing or
/// mistyped field is `client.bad_response` naming the field, never a default.
@Suite struct AnswerTests {
    static let hash = [UInt8](repeating: 9, count: 32)
    static let sha = String(repeating: "cd", count: 32)
    static let key = try! SigningKey(name: "example.com/log", seed: [UInt8](repeating: 3, count: 32)).verifierKey
    static let manifest = ReleaseManifest(release: 4, createdAt: "2026-12-05T00:00:00Z", logSize: 12, anchorSHA256: sha, expertsPerToken: 2,
                                          experts: [.init(organisation: "acme", contribution: 7, statementSHA256: sha, expertSHA256: sha, routingSHA256: sha)],
                                          files: Dictionary(uniqueKeysWithValues: ReleaseLayout.requiredFiles.map { ($0, sha) }))

    /// Each answer as its JSON, with a function reading it back and comparing with the original.
    static var answers: [(String, JSONValue, @Sendable (JSONValue) throws -> Bool)] {
        func entry<T: Equatable & Sendable>(_ value: T, _ json: JSONValue, _ read: @escaping @Sendable (JSONValue) throws -> T) -> (String, JSONValue, @Sendable (JSONValue) throws -> Bool) {
            ("\(T.self)", json, { try read($0) == value })
        }
        let log = LogKeyAnswer(origin: "example.com/log", verifierKey: key)
        let entries = LogEntriesAnswer(start: 3, entries: [[1, 2, 3], []])
        let inclusion = InclusionProofAnswer(index: 2, size: 9, leafHash: hash, proof: [hash, hash])
        let consistency = ConsistencyProofAnswer(first: 2, second: 9, proof: [hash])
        let contribution = ContributionAnswer(logIndex: 7, organisation: "acme", keyID: "0a0b0c0d", verifierKey: key.encoded, statementSHA256: sha,
                                              envelopeSHA256: sha, expertSHA256: sha, routingSHA256: sha,
                                              privacy: .object([("enabled", .bool(true))]), revokedAt: 8, takenDownAt: nil)
        let append = AppendAnswer(logIndex: 5, treeSize: 6, checkpoint: "example.com/log\n6\nAAAA\n", inclusionProof: [hash])
        let keys = KeysAnswer(keys: [EnrolledKey(keyID: "0a0b0c0d", organisation: "acme", verifierKey: key, enrolledAt: 1, retiredAt: nil, revokedAt: 4)])
        let policy = PolicyAnswer(policy: ContributionPolicy(), anchorSHA256: sha, origin: "example.com/log", document: [1, 2], logIndex: 0,
                                  maxUploadBytes: 1 << 30, expertsPerToken: 2, probeBitsPerByte: 2.5, logKey: key)
        let release = ReleaseAnswer(manifest: manifest, logIndex: 11, manifestSHA256: sha, pruned: true, rebuild: "rebuild it")
        let published = ReleaseAnswer(manifest: manifest, logIndex: 11, manifestSHA256: sha, pruned: nil, rebuild: nil)
        let one = RoutedExpert(expert: 1, organisation: "acme", contribution: 7, weight: 0.75)
        let anchor = RoutedExpert(expert: 0, organisation: "anchor", contribution: nil, weight: 0.25)
        let route = RouteAnswer(release: 4, results: [[one, anchor]], isBatch: false)
        let batch = RouteAnswer(release: 4, results: [[one], [anchor]], isBatch: true)
        let score = ScoreAnswer(release: 4, bitsPerByte: 2.5, bits: 80, bytes: 32, routing: "rows")
        let generate = GenerateAnswer(release: 4, text: "Paris", routing: "rows")
        let experts = ExpertsAnswer(release: 4, experts: [.init(expert: 0, organisation: "anchor", contribution: nil, privacy: .null)])
        let none = ExpertsAnswer(release: nil, experts: [])
        return [
            entry(log, log.json, LogKeyAnswer.init(json:)), entry(entries, entries.json, LogEntriesAnswer.init(json:)),
            entry(inclusion, inclusion.json, InclusionProofAnswer.init(json:)), entry(consistency, consistency.json, ConsistencyProofAnswer.init(json:)),
            entry(contribution, contribution.json, ContributionAnswer.init(json:)), entry(append, append.json, AppendAnswer.init(json:)),
            entry(keys, keys.json, KeysAnswer.init(json:)), entry(policy, policy.json, PolicyAnswer.init(json:)),
            entry(release, release.json, ReleaseAnswer.init(json:)), entry(published, published.json, ReleaseAnswer.init(json:)),
            entry(route, route.json, RouteAnswer.init(json:)), entry(batch, batch.json, RouteAnswer.init(json:)),
            entry(score, score.json, ScoreAnswer.init(json:)), entry(generate, generate.json, GenerateAnswer.init(json:)),
            entry(experts, experts.json, ExpertsAnswer.init(json:)), entry(none, none.json, ExpertsAnswer.init(json:)),
            entry(HealthAnswer.ok, HealthAnswer.ok.json, HealthAnswer.init(json:)),
        ]
    }

    @Test func answersRoundTripThroughTheirText() throws {
        for (name, json, readsBack) in Self.answers {
            let text = JSONWriter.serialize(json)
            #expect(try readsBack(try StrictJSONParser.parse(text)), "\(name) did not read back as written")
        }
    }

    /// Dropping any field the reader needs is refused; fields it may lack (`pruned`, `rebuild`,
    /// nullable indices) are the ones whose absence means "nothing to say".
    @Test func answersWithoutARequiredFieldAreRefused() throws {
        let optional: Set<String> = ["pruned", "rebuild", "revokedAt", "takenDownAt", "retiredAt", "contribution"]
        for (name, json, readsBack) in Self.answers {
            guard case let .object(members) = json else { Issue.record("\(name) is not an object"); continue }
            for (dropped, _) in members where !optional.contains(dropped) {
                // A route answer without "experts" is read as a batch without "results": both are refused.
                do {
                    _ = try readsBack(.object(members.filter { $0.0 != dropped }))
                    Issue.record("\(name) without \(dropped) was read")
                } catch let e as TributaryError {
                    #expect(e.code == "client.bad_response", "\(name) without \(dropped): \(e)")
                }
            }
        }
    }

    @Test func aReleaseAnswerKeepsTheManifestFieldsExactly() throws {
        var json = Self.answers.first { $0.0 == "ReleaseAnswer" }!.1
        guard case var .object(members) = json else { Issue.record("not an object"); return }
        members.append(("unsignedExtra", .string("x")))   // a field no manifest has
        json = .object(members)
        #expect(throws: TributaryError.self) { _ = try ReleaseAnswer(json: json) }
    }
}

/// The server's reading of requests: strict (unknown fields and out-of-range values refused with
/// `api.bad_request`), defaults filled in, and what a client writes reads back.
@Suite struct RequestTests {
    func refused(_ read: () throws -> Void) -> String? {
        do { try read() } catch let e as TributaryError { return e.code == "api.bad_request" ? e.message : "wrong code \(e.code)" } catch { return "\(error)" }
        return nil
    }

    @Test func routeRequests() throws {
        for r in [RouteRequest(.text("hi")), RouteRequest(.texts(["a", "b"]), topK: 3), RouteRequest(.embedding([0.5, -1])),
                  RouteRequest(.embeddings([[1], [2]]), temperature: 0.5)] {
            #expect(try RouteRequest(json: try StrictJSONParser.parse(JSONWriter.serialize(r.json))).query == r.query)
        }
        let read = try RouteRequest(json: RouteRequest(.text("hi")).json)
        #expect(read.topK == RouteRequest.defaultTopK && read.temperature == RouteRequest.defaultTemperature)
        let bad: [(String, JSONValue)] = [
            ("no query", .object([])),
            ("two queries", .object([("text", .string("a")), ("texts", .array([.string("b")]))])),
            ("unknown field", .object([("text", .string("a")), ("model", .string("x"))])),
            ("topK 0", .object([("text", .string("a")), ("topK", .int(0))])),
            ("subnormal temperature", .object([("text", .string("a")), ("temperature", .number("1e-310"))])),
            ("empty batch", .object([("texts", .array([]))])),
            ("257 texts", .object([("texts", .array(Array(repeating: .string("a"), count: 257)))])),
            ("a text too long", .object([("text", .string(String(repeating: "a", count: RequestReader.maxText + 1)))])),
            ("an infinite embedding", .object([("embedding", .array([.number("1e999")]))])),
        ]
        for (label, json) in bad { #expect(refused { _ = try RouteRequest(json: json) } != nil, "\(label) was accepted") }
    }

    @Test func generateAndScoreRequests() throws {
        let g = GenerateRequest(prompt: "The ", maxTokens: 20, temperature: 0.5, topK: 8, seed: 3)
        #expect(try GenerateRequest(json: g.json, maxTokensLimit: 64) == g)
        let defaults = try GenerateRequest(json: .object([]), maxTokensLimit: 64)
        #expect(defaults == GenerateRequest(prompt: "", maxTokens: 64))
        #expect(refused { _ = try GenerateRequest(json: .object([("maxTokens", .int(65))]), maxTokensLimit: 64) } != nil)
        #expect(refused { _ = try GenerateRequest(json: .object([("prompt", .int(1))]), maxTokensLimit: 64) } == "prompt must be a string")
        #expect(try ScoreRequest(json: ScoreRequest(text: "abc").json) == ScoreRequest(text: "abc"))
        #expect(refused { _ = try ScoreRequest(json: .object([])) } == "text must be a string")
        #expect(refused { _ = try ScoreRequest(json: .object([("text", .string("a")), ("x", .null)])) } == "unknown field \"x\"")
    }
}
