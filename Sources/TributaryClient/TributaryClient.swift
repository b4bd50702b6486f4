import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TributaryCore
import TributaryLog

/// An error the server answered with (`{"error": {"code", "message"}}`), or a transport failure.
public struct RemoteError: CodedError {
    public let status: Int
    public let code: String
    public let message: String
}

/// The client side of the HTTP API: what data owners, operators and auditors call.
public struct TributaryClient: Sendable {
    public let base: String
    let http: HTTPClient
    public var timeout: TimeAmount = .seconds(600)
    /// The same, for callers that do not import NIO.
    public var timeoutSeconds: Int64 {
        get { timeout.nanoseconds / 1_000_000_000 }
        set { timeout = .seconds(newValue) }
    }

    /// `server` like `http://127.0.0.1:8080`.
    public init(server: String, http: HTTPClient = .shared) throws {
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw TributaryError("client.bad_url", "\(server) is not an http(s) URL")
        }
        base = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.http = http
    }

    // MARK: Transport

    public func send(_ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body? = nil, contentType: String = "application/json",
              limit: Int = 64 << 20) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.body = body
            request.headers.add(name: "Content-Type", value: contentType)
        }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw RemoteError(status: 0, code: "client.unreachable", message: "\(base)\(path): \(error)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: limit))
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            if let json = try? StrictJSONParser.parse(bytes), case let .string(code)? = json["error"]?["code"],
               case let .string(message)? = json["error"]?["message"] {
                throw RemoteError(status: status, code: code, message: message)
            }
            throw RemoteError(status: status, code: "client.http_\(status)", message: String(decoding: bytes.prefix(300), as: UTF8.self))
        }
        return (status, bytes)
    }

    public func getJSON(_ path: String) async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.GET, path).body)
    }

    public func postJSON(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.POST, path, body: .bytes(ByteBuffer(bytes: JSONWriter.serialize(body)))).body)
    }

    public func postBytes(_ path: String, _ bytes: [UInt8], contentType: String = "application/json") async throws -> JSONValue {
        try StrictJSONParser.parse(try await send(.POST, path, body: .bytes(ByteBuffer(bytes: bytes)), contentType: contentType).body)
    }

    /// One expert of a `/v1/route` answer.
    public struct RoutedExpert: Sendable, Equatable {
        public let expert: Int
        public let organisation: String
        public let weight: Double
    }

    /// `/v1/route` for each text (in order), `perRequest` texts a request: each text is embedded from
    /// its first tokens, so 24 texts stay under the server's default token bound per request.
    public func route(texts: [String], topK: Int = 2, perRequest: Int = 24) async throws -> (release: Int, results: [[RoutedExpert]]) {
        var out = [[RoutedExpert]](), release = 0
        for start in stride(from: 0, to: texts.count, by: max(1, perRequest)) {
            let chunk = texts[start..<min(texts.count, start + max(1, perRequest))]
            let r = try await postJSON("/v1/route", .object([("texts", .array(chunk.map { .string($0) })), ("topK", .int(topK))]))
            guard case let .number(n)? = r["release"], let number = Int(n), case let .array(results)? = r["results"], results.count == chunk.count else {
                throw RemoteError(status: 200, code: "client.bad_response", message: "the /v1/route answer has no release or not one result per text")
            }
            release = number
            for item in results {
                guard case let .array(experts) = item else { throw RemoteError(status: 200, code: "client.bad_response", message: "a /v1/route result is not a list") }
                out.append(try experts.map { e in
                    guard case let .number(i)? = e["expert"], let index = Int(i), case let .string(org)? = e["organisation"],
                          case let .number(w)? = e["weight"], let weight = Double(w) else {
                        throw RemoteError(status: 200, code: "client.bad_response", message: "a /v1/route expert lacks expert, organisation or weight")
                    }
                    return RoutedExpert(expert: index, organisation: org, weight: weight)
                })
            }
        }
        return (release, out)
    }

    /// Streams a response body of at most `limit` bytes into a file (atomically), returning its
    /// SHA-256: a server cannot fill the disk of whoever downloads from it.
    @discardableResult
    public func download(_ path: String, to file: String, limit: UInt64 = 1 << 36) async throws -> String {
        var request = HTTPClientRequest(url: base + path)
        request.method = .GET
        let response = try await http.execute(request, timeout: timeout)
        guard response.status == .ok else {
            let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            if let json = try? StrictJSONParser.parse(bytes), case let .string(code)? = json["error"]?["code"] {
                throw RemoteError(status: Int(response.status.code), code: code, message: "\(path): \(json["error"]?["message"] ?? .null)")
            }
            throw RemoteError(status: Int(response.status.code), code: "client.http_\(response.status.code)", message: path)
        }
        let writer = try AtomicFileWriter(path: file)
        let hasher = SHA256Hasher()
        var received: UInt64 = 0
        for try await buffer in response.body {
            received += UInt64(buffer.readableBytes)
            guard received <= limit else { throw TributaryError("client.too_large", "\(path): the server sent more than \(limit) bytes") }
            try buffer.withUnsafeReadableBytes { raw in
                hasher.update(raw)
                try writer.write(raw)
            }
        }
        try writer.commit()
        return Hex.encode(hasher.finalize())
    }

    // MARK: Contributions

    /// Uploads a signed bundle directory as a streamed ustar archive.
    public func submit(bundle directory: String) async throws -> ContributionReceipt {
        let chunks = try BundleArchive.chunks(directory: directory).map { ByteBuffer(bytes: $0) }
        let r = try await send(.POST, "/v1/contributions", body: .stream(chunks, length: .unknown), contentType: "application/x-tar")
        return try ContributionReceipt(json: try StrictJSONParser.parse(r.body))
    }

    /// The server's log origin and checkpoint key, as the server says (pin the key where you can).
    public func logKey() async throws -> LogKeyAnswer { try LogKeyAnswer(json: try await getJSON("/v1/log/key")) }

    /// The server's log origin: what statements and signed requests for it must name.
    public func origin() async throws -> String { try await logKey().origin }

    func request(_ action: String, _ parameters: [(String, JSONValue)], key: SigningKey, origin: String?) async throws -> [UInt8] {
        let o: String
        if let origin { o = origin } else { o = try await self.origin() }
        return SignedRequest.make(origin: o, action: action, parameters: .object(parameters), key: key)
    }

    /// Opt-out: the owner withdraws its contribution.
    public func revokeContribution(_ index: UInt64, key: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/contributions/\(index)/revocation",
                            try await request("revoke-contribution", [("contribution", .uint64(index))], key: key, origin: origin))
    }

    public func enrol(_ key: VerifierKey, operatorKey: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/admin/enrolments", try await request("enrol", [("verifierKey", .string(key.encoded))], key: operatorKey, origin: origin))
    }

    /// The operator replaces an organisation's key.
    public func rotateKey(organisation: String, to key: VerifierKey, operatorKey: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/admin/rotations", try await request("rotate-key", [("organisation", .string(organisation)),
                                                                                      ("verifierKey", .string(key.encoded))],
                                                                       key: operatorKey, origin: origin))
    }

    /// Revokes a key, signed by the operator or by the key itself; `takedown` also takes down every
    /// contribution it signed (a compromised key).
    public func revokeKey(_ keyID: String, organisation: String, takedown: Bool, key: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/keys/\(keyID)/revocation", try await request("revoke-key", [("keyID", .string(keyID)), ("organisation", .string(organisation)),
                                                                                          ("takedown", .bool(takedown))],
                                                                          key: key, origin: origin))
    }

    /// The operator takes a contribution down, with a reason.
    public func takeDown(_ index: UInt64, reason: String, operatorKey: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/contributions/\(index)/takedown", try await request("takedown-contribution", [("contribution", .uint64(index)),
                                                                                                            ("reason", .string(reason))],
                                                                                    key: operatorKey, origin: origin))
    }

    public func publishRelease(operatorKey: SigningKey, origin: String? = nil) async throws -> JSONValue {
        try await postBytes("/v1/releases", try await request("publish-release", [], key: operatorKey, origin: origin))
    }

    // MARK: Log

    public func checkpoint() async throws -> [UInt8] { try await send(.GET, "/checkpoint").body }

    public func entries(start: UInt64, end: UInt64) async throws -> [[UInt8]] {
        let json = try await getJSON("/v1/log/entries?start=\(start)&end=\(end)")
        guard case let .array(items)? = json["entries"] else { throw RemoteError(status: 200, code: "client.bad_response", message: "no entries") }
        return try items.map {
            guard case let .string(s) = $0, let b = Base64.decodeStandard(s) else { throw RemoteError(status: 200, code: "client.bad_response", message: "entry not base64") }
            return b
        }
    }

    public func inclusionProof(index: UInt64, size: UInt64) async throws -> [[UInt8]] {
        try Self.hashes(try await getJSON("/v1/log/proof/inclusion?index=\(index)&size=\(size)")["proof"])
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]] {
        try Self.hashes(try await getJSON("/v1/log/proof/consistency?first=\(first)&second=\(second)")["proof"])
    }

    public static func hashes(_ v: JSONValue?) throws -> [[UInt8]] {
        guard case let .array(items)? = v else { throw RemoteError(status: 200, code: "client.bad_response", message: "missing proof") }
        return try items.map {
            guard case let .string(s) = $0, let b = Base64.decodeStandard(s), b.count == 32 else {
                throw RemoteError(status: 200, code: "client.bad_response", message: "proof hash is not 32 bytes of base64")
            }
            return b
        }
    }
}
