import TributaryCore

/// `POST /v1/route`: which experts suit a text (embedded by the server from its first tokens) or an
/// embedding the client computed in the signature space. The single forms answer `experts`, the
/// batch forms `results` (one list per item, in order).
public struct RouteRequest: Sendable, Equatable {
    public enum Query: Sendable, Equatable {
        case text(String)
        case texts([String])
        case embedding([Float])
        case embeddings([[Float]])
    }

    public static let maxBatch = 256
    public static let defaultTopK = 2
    /// Routing weights are softmax(−d²/T): T must be a normal positive number or they are NaN.
    public static let defaultTemperature = 0.1
    static let fields: Set<String> = ["text", "texts", "embedding", "embeddings", "topK", "temperature"]

    public let query: Query
    public let topK: Int?
    public let temperature: Double?

    public init(_ query: Query, topK: Int? = nil, temperature: Double? = nil) {
        self.query = query
        self.topK = topK
        self.temperature = temperature
    }

    public var isBatch: Bool {
        switch query {
        case .text, .embedding: return false
        case .texts, .embeddings: return true
        }
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)]
        switch query {
        case let .text(t): members = [("text", .string(t))]
        case let .texts(ts): members = [("texts", .array(ts.map { .string($0) }))]
        case let .embedding(e): members = [("embedding", .array(e.map { .double(Double($0)) }))]
        case let .embeddings(es): members = [("embeddings", .array(es.map { .array($0.map { .double(Double($0)) }) }))]
        }
        if let topK { members.append(("topK", .int(topK))) }
        if let temperature { members.append(("temperature", .double(temperature))) }
        return .object(members)
    }

    /// The server's reading: strict, every bound checked, defaults filled in.
    public init(json: JSONValue) throws {
        let r = try RequestReader(json, fields: Self.fields)
        let given = ["text", "texts", "embedding", "embeddings"].filter(r.has)
        guard given.count == 1 else { throw RequestReader.bad("give exactly one of text, texts, embedding or embeddings") }
        let topK = try r.int("topK", default: Self.defaultTopK, range: 1...64)
        let temperature = try r.double("temperature", default: Self.defaultTemperature, range: 0.001...100)
        let query: Query
        switch given[0] {
        case "text": query = .text(try r.string("text"))
        case "texts": query = .texts(try r.list("texts", max: Self.maxBatch, what: "strings").map { try RequestReader.string($0, "texts[]") })
        case "embedding": query = .embedding(try RequestReader.vector(try r.json["embedding"] ?? .null))
        default: query = .embeddings(try r.list("embeddings", max: Self.maxBatch, what: "vectors").map(RequestReader.vector))
        }
        self.init(query, topK: topK, temperature: temperature)
    }
}

/// One routed expert: never its centroids. Expert 0 is the anchor (no contribution).
public struct RoutedExpert: Sendable, Equatable {
    public let expert: Int
    public let organisation: String
    public let contribution: UInt64?
    public let weight: Double

    public init(expert: Int, organisation: String, contribution: UInt64?, weight: Double) {
        self.expert = expert
        self.organisation = organisation
        self.contribution = contribution
        self.weight = weight
    }

    public var json: JSONValue {
        .object([("expert", .int(expert)), ("organisation", .string(organisation)),
                 ("contribution", contribution.map { .uint64($0) } ?? .null), ("weight", .double(weight))])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/route answer's expert")
        self.init(expert: try r.int("expert"), organisation: try r.string("organisation"), contribution: try r.optionalUInt64("contribution"),
                  weight: try r.double("weight"))
    }
}

/// The answer to `POST /v1/route`: the release that routed, and the experts per query.
public struct RouteAnswer: Sendable, Equatable {
    public let release: Int
    public let results: [[RoutedExpert]]
    /// Answers a single text or embedding (`experts`) rather than a batch (`results`).
    public let isBatch: Bool

    public init(release: Int, results: [[RoutedExpert]], isBatch: Bool) {
        self.release = release
        self.results = results
        self.isBatch = isBatch
    }

    public var json: JSONValue {
        let encoded = results.map { JSONValue.array($0.map(\.json)) }
        return .object([("release", .int(release)), isBatch ? ("results", .array(encoded)) : ("experts", encoded.first ?? .array([]))])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/route answer")
        let batch = json["results"] != nil
        let lists = batch ? try r.array("results") : [try r.value("experts")]
        self.init(release: try r.int("release"), results: try lists.map { list in
            guard case let .array(items) = list else { throw r.bad(batch ? "results" : "experts") }
            return try items.map(RoutedExpert.init(json:))
        }, isBatch: batch)
    }
}
