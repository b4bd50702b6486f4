import Hummingbird
import TributaryHTTP
import TributaryCore
import TributaryRouting

/// Using the combined model: routing, scoring, generation, and the list of experts.
struct ServingRoutes {
    let server: AggregationServer
    static let maxBatch = 256
    static let maxText = 64 * 1024

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/route") { request, context -> Response in
            let body = try await RequestBody.jsonObject(request, context, limit: 4 << 20, deadline: server.config.bodyDeadlineSeconds)
            try Self.only(body, ["text", "texts", "embedding", "embeddings", "topK", "temperature"])
            let queries = ["text", "texts", "embedding", "embeddings"].filter { body[$0] != nil }
            guard queries.count == 1 else { throw ServerError.badRequest("give exactly one of text, texts, embedding or embeddings") }
            let k = try Self.int(body["topK"], default: 2, range: 1...64, "topK")
            // Routing weights are softmax(−d²/T): T must be a normal positive number or they are NaN.
            let t = try Self.double(body["temperature"], default: 0.1, range: 0.001...100, "temperature")
            let results: [[RoutedExpert]]
            var batch = true
            let channel = context.channel
            let gone: @Sendable () -> Bool = { ClientPresence.isGone(channel) }
            if let text = body["text"] {
                results = try await server.route(texts: [try Self.string(text, "text")], topK: k, temperature: t, abandoned: gone)
                batch = false
            } else if let textsValue = body["texts"] {
                guard case let .array(items) = textsValue, !items.isEmpty, items.count <= Self.maxBatch else { throw ServerError.badRequest("texts must hold 1...\(Self.maxBatch) strings") }
                results = try await server.route(texts: try items.map { try Self.string($0, "texts[]") }, topK: k, temperature: t, abandoned: gone)
            } else if let e = body["embedding"] {
                results = try await server.route(embeddings: [try Self.vector(e)], topK: k, temperature: t)
                batch = false
            } else if let e = body["embeddings"] {
                guard case let .array(items) = e, !items.isEmpty, items.count <= Self.maxBatch else { throw ServerError.badRequest("embeddings must hold 1...\(Self.maxBatch) vectors") }
                results = try await server.route(embeddings: try items.map(Self.vector), topK: k, temperature: t)
            } else {
                throw ServerError.badRequest("give one of text, texts, embedding or embeddings")
            }
            let release = await server.releases.current?.manifest.release ?? 0
            let encoded = results.map { JSONValue.array($0.map(Self.describe)) }
            return JSONResponse.make(.object([("release", .int(release)), batch ? ("results", .array(encoded)) : ("experts", encoded[0])]))
        }
        router.post("/v1/score") { request, context -> Response in
            let body = try await RequestBody.jsonObject(request, context, deadline: server.config.bodyDeadlineSeconds)
            try Self.only(body, ["text"])
            let channel = context.channel
            let (release, e) = try await server.score(text: try Self.string(body["text"], "text"), abandoned: { ClientPresence.isGone(channel) })
            // "routing": how the release's experts were chosen — its router rows, what any Mixtral runtime computes.
            return JSONResponse.make(.object([("release", .int(release)), ("bitsPerByte", .double(e.bitsPerByte)),
                                              ("bits", .double(e.bits)), ("bytes", .int(e.bytes)), ("routing", .string(RoutingMethod.rows.rawValue))]))
        }
        router.post("/v1/generate") { request, context -> Response in
            let body = try await RequestBody.jsonObject(request, context, deadline: server.config.bodyDeadlineSeconds)
            try Self.only(body, ["prompt", "maxTokens", "temperature", "topK", "seed"])
            let prompt = try Self.string(body["prompt"] ?? .string(""), "prompt")
            let n = try Self.int(body["maxTokens"], default: min(200, server.config.maxGenerateTokens), range: 1...server.config.maxGenerateTokens, "maxTokens")
            let temp = try Self.double(body["temperature"], default: 0.8, range: 0...10, "temperature")
            let k = try Self.int(body["topK"], default: 40, range: 1...258, "topK")
            let seed = try Self.int(body["seed"], default: 1, range: 0...Int(Int32.max), "seed")
            let channel = context.channel
            let (release, text) = try await server.generate(prompt: prompt, maxTokens: n, temperature: Float(temp), topK: k, seed: UInt64(seed),
                                                            abandoned: { ClientPresence.isGone(channel) })
            return JSONResponse.make(.object([("release", .int(release)), ("text", .string(text)), ("routing", .string(RoutingMethod.rows.rawValue))]))
        }
        router.get("/v1/experts") { _, _ -> Response in
            guard let r = await server.releases.current else { return JSONResponse.make(.object([("release", .null), ("experts", .array([]))])) }
            var experts: [JSONValue] = [.object([("expert", .int(0)), ("organisation", .string("anchor")), ("contribution", .null), ("privacy", .null)])]
            for (i, e) in r.manifest.experts.enumerated() {
                let privacy = try await server.store.contribution(e.contribution).flatMap { try? StrictJSONParser.parse(Array($0.privacy.utf8)) } ?? .null
                experts.append(.object([("expert", .int(i + 1)), ("organisation", .string(e.organisation)),
                                        ("contribution", .uint64(e.contribution)), ("privacy", privacy)]))
            }
            return JSONResponse.make(.object([("release", .int(r.manifest.release)), ("experts", .array(experts))]))
        }
    }

    static func describe(_ e: RoutedExpert) -> JSONValue {
        .object([("expert", .int(e.expert)), ("organisation", .string(e.organisation)),
                 ("contribution", e.contribution.map { .uint64($0) } ?? .null), ("weight", .double(e.weight))])
    }

    /// Refuses fields the endpoint does not read: an ignored field is one a client may believe was used.
    static func only(_ body: JSONValue, _ fields: Set<String>) throws {
        guard case let .object(members) = body else { return }
        for (k, _) in members where !fields.contains(k) { throw ServerError.badRequest("unknown field \(k.debugDescription)") }
    }

    static func string(_ v: JSONValue?, _ name: String) throws -> String {
        guard case let .string(s)? = v else { throw ServerError.badRequest("\(name) must be a string") }
        guard s.utf8.count <= maxText else { throw ServerError.badRequest("\(name) is longer than \(maxText) bytes") }
        return s
    }

    static func int(_ v: JSONValue?, default d: Int, range: ClosedRange<Int>, _ name: String) throws -> Int {
        guard let v else { return d }
        guard case let .number(t) = v, let n = Int(t), range.contains(n) else { throw ServerError.badRequest("\(name) must be an integer in \(range)") }
        return n
    }

    /// A number in `range`; a subnormal is refused with the rest (it would make a division overflow).
    static func double(_ v: JSONValue?, default d: Double, range: ClosedRange<Double>, _ name: String) throws -> Double {
        guard let v else { return d }
        guard case let .number(t) = v, let x = Double(t), x.isFinite, x == 0 || x.isNormal, range.contains(x) else {
            throw ServerError.badRequest("\(name) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return x
    }

    static func vector(_ v: JSONValue) throws -> [Float] {
        guard case let .array(items) = v, !items.isEmpty, items.count <= 65536 else { throw ServerError.badRequest("an embedding must be an array of numbers") }
        return try items.map {
            guard case let .number(t) = $0, let x = Float(t), x.isFinite else { throw ServerError.badRequest("embedding values must be finite numbers") }
            return x
        }
    }
}
