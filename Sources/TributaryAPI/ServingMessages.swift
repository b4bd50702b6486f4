import TributaryCore

/// `POST /v1/score`: bits per byte of a text under the current release.
public struct ScoreRequest: Sendable, Equatable {
    public let text: String

    public init(text: String) { self.text = text }

    public var json: JSONValue { .object([("text", .string(text))]) }

    public init(json: JSONValue) throws {
        self.init(text: try RequestReader(json, fields: ["text"]).string("text"))
    }
}

public struct ScoreAnswer: Sendable, Equatable {
    public let release: Int
    public let bitsPerByte: Double
    public let bits: Double
    public let bytes: Int
    /// How the release's experts were chosen: its router rows, what any Mixtral runtime computes.
    public let routing: String

    public init(release: Int, bitsPerByte: Double, bits: Double, bytes: Int, routing: String) {
        self.release = release
        self.bitsPerByte = bitsPerByte
        self.bits = bits
        self.bytes = bytes
        self.routing = routing
    }

    public var json: JSONValue {
        .object([("release", .int(release)), ("bitsPerByte", .double(bitsPerByte)), ("bits", .double(bits)), ("bytes", .int(bytes)),
                 ("routing", .string(routing))])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/score answer")
        self.init(release: try r.int("release"), bitsPerByte: try r.double("bitsPerByte"), bits: try r.double("bits"), bytes: try r.int("bytes"),
                  routing: try r.string("routing"))
    }
}

/// `POST /v1/generate`: a continuation of `prompt` sampled from the current release.
public struct GenerateRequest: Sendable, Equatable {
    static let fields: Set<String> = ["prompt", "maxTokens", "temperature", "topK", "seed"]

    public let prompt: String
    /// nil: the server's default, `defaultMaxTokens(limit:)`.
    public let maxTokens: Int?
    public let temperature: Double
    public let topK: Int
    public let seed: Int

    public init(prompt: String, maxTokens: Int? = nil, temperature: Double = 0.8, topK: Int = 40, seed: Int = 1) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
    }

    public static func defaultMaxTokens(limit: Int) -> Int { min(200, limit) }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("prompt", .string(prompt))]
        if let maxTokens { members.append(("maxTokens", .int(maxTokens))) }
        members += [("temperature", .double(temperature)), ("topK", .int(topK)), ("seed", .int(seed))]
        return .object(members)
    }

    /// The server's reading, every default filled in; `maxTokensLimit` is the operator's bound.
    public init(json: JSONValue, maxTokensLimit: Int) throws {
        let r = try RequestReader(json, fields: Self.fields)
        let d = GenerateRequest(prompt: "")
        self.init(prompt: try r.string("prompt", default: ""),
                  maxTokens: try r.int("maxTokens", default: Self.defaultMaxTokens(limit: maxTokensLimit), range: 1...maxTokensLimit),
                  temperature: try r.double("temperature", default: d.temperature, range: 0...10),
                  topK: try r.int("topK", default: d.topK, range: 1...258),
                  seed: try r.int("seed", default: d.seed, range: 0...Int(Int32.max)))
    }
}

public struct GenerateAnswer: Sendable, Equatable {
    public let release: Int
    public let text: String
    public let routing: String

    public init(release: Int, text: String, routing: String) {
        self.release = release
        self.text = text
        self.routing = routing
    }

    public var json: JSONValue { .object([("release", .int(release)), ("text", .string(text)), ("routing", .string(routing))]) }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/generate answer")
        self.init(release: try r.int("release"), text: try r.string("text"), routing: try r.string("routing"))
    }
}

/// `GET /v1/experts`: the current release's experts with their declared privacy; `release` is nil
/// before the first release.
public struct ExpertsAnswer: Sendable, Equatable {
    public struct Expert: Sendable, Equatable {
        public let expert: Int
        public let organisation: String
        public let contribution: UInt64?
        public let privacy: JSONValue

        public init(expert: Int, organisation: String, contribution: UInt64?, privacy: JSONValue) {
            self.expert = expert
            self.organisation = organisation
            self.contribution = contribution
            self.privacy = privacy
        }

        public var json: JSONValue {
            .object([("expert", .int(expert)), ("organisation", .string(organisation)),
                     ("contribution", contribution.map { .uint64($0) } ?? .null), ("privacy", privacy)])
        }

        public init(json: JSONValue) throws {
            let r = try AnswerReader(json, answer: "/v1/experts answer's expert")
            self.init(expert: try r.int("expert"), organisation: try r.string("organisation"), contribution: try r.optionalUInt64("contribution"),
                      privacy: try r.value("privacy"))
        }
    }

    public let release: Int?
    public let experts: [Expert]

    public init(release: Int?, experts: [Expert]) {
        self.release = release
        self.experts = experts
    }

    public var json: JSONValue { .object([("release", release.map { .int($0) } ?? .null), ("experts", .array(experts.map(\.json)))]) }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/experts answer")
        let release: Int?
        if r.json["release"] == .null { release = nil } else { release = try r.int("release") }
        self.init(release: release, experts: try r.array("experts").map(Expert.init(json:)))
    }
}

/// `GET /healthz`.
public struct HealthAnswer: Sendable, Equatable {
    public let status: String

    public init(status: String) { self.status = status }

    public static let ok = HealthAnswer(status: "ok")

    public var json: JSONValue { .object([("status", .string(status))]) }

    public init(json: JSONValue) throws { self.init(status: try AnswerReader(json, answer: "/healthz answer").string("status")) }
}
