import TributaryCore

/// `GET /v1/log/entries?start&end`: raw entries `start..<end` (at most a page).
public struct LogEntriesAnswer: Sendable, Equatable {
    public let start: UInt64
    public let entries: [[UInt8]]

    public init(start: UInt64, entries: [[UInt8]]) {
        self.start = start
        self.entries = entries
    }

    public var json: JSONValue { .object([("start", .uint64(start)), ("entries", .array(entries.map { .string(Base64.encode($0)) }))]) }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/log/entries answer")
        self.init(start: try r.uint64("start"), entries: try r.array("entries").map {
            guard let s = $0.stringValue, let b = Base64.decodeStandard(s) else { throw r.bad("entries") }
            return b
        })
    }
}

/// `GET /v1/log/proof/inclusion?index&size`: RFC 9162 §2.1.3 proof for the entry at `index`.
public struct InclusionProofAnswer: Sendable, Equatable {
    public let index: UInt64
    public let size: UInt64
    public let leafHash: [UInt8]
    public let proof: [[UInt8]]

    public init(index: UInt64, size: UInt64, leafHash: [UInt8], proof: [[UInt8]]) {
        self.index = index
        self.size = size
        self.leafHash = leafHash
        self.proof = proof
    }

    public var json: JSONValue {
        .object([("index", .uint64(index)), ("size", .uint64(size)), ("leafHash", .string(Base64.encode(leafHash))), ("proof", .base64Array(proof))])
    }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/log/proof/inclusion answer")
        self.init(index: try r.uint64("index"), size: try r.uint64("size"), leafHash: try r.hash("leafHash"), proof: try r.hashes("proof"))
    }
}

/// `GET /v1/log/proof/consistency?first&second`: RFC 9162 §2.1.4 proof between two tree sizes.
public struct ConsistencyProofAnswer: Sendable, Equatable {
    public let first: UInt64
    public let second: UInt64
    public let proof: [[UInt8]]

    public init(first: UInt64, second: UInt64, proof: [[UInt8]]) {
        self.first = first
        self.second = second
        self.proof = proof
    }

    public var json: JSONValue { .object([("first", .uint64(first)), ("second", .uint64(second)), ("proof", .base64Array(proof))]) }

    public init(json: JSONValue) throws {
        let r = try AnswerReader(json, answer: "/v1/log/proof/consistency answer")
        self.init(first: try r.uint64("first"), second: try r.uint64("second"), proof: try r.hashes("proof"))
    }
}
