import Hummingbird
import TributaryHTTP
import NIOCore
import TributaryCore
import TributaryLog

/// Uploading, inspecting and revoking contributions.
struct ContributionRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/contributions") { request, context -> Response in
            // Streamed: each body chunk goes straight into the archive reader and onto disk. The
            // watchdog shuts the connection's input when a deadline of the upload's clock passes.
            let clock = server.uploadClock()
            let watchdog = Task {
                while !Task.isCancelled {
                    try await Task.sleep(nanoseconds: 250_000_000)
                    if let why = clock.overdue() {
                        clock.expire(why)
                        context.channel.close(mode: .input, promise: nil)
                        return
                    }
                }
            }
            defer { watchdog.cancel() }
            let accepted = try await server.submit(archive: request.body.map { Array(buffer: $0) }, clock: clock)
            return JSONResponse.make(accepted.json, status: .created)
        }
        router.get("/v1/contributions") { request, _ -> Response in
            guard let sha = request.uri.queryParameters["statementSHA256"].map(String.init), Hex.isLowerHex(sha, byteCount: 32) else {
                throw ServerError.badRequest("give statementSHA256 (64 lower-case hex digits)")
            }
            guard let c = try await server.store.contribution(statementSHA256: sha) else { throw ServerError.notFound("no contribution with statement \(sha)") }
            return JSONResponse.make(Self.describe(c))
        }
        router.get("/v1/contributions/{index}") { _, context -> Response in
            let index = try PathNumber.index(context, "index")
            guard let c = try await server.store.contribution(index) else { throw ServerError.notFound("no contribution at log index \(index)") }
            return JSONResponse.make(Self.describe(c))
        }
        router.post("/v1/contributions/{index}/revocation") { request, context -> Response in
            let index = try PathNumber.index(context, "index")
            let r = try await server.revokeContribution(index, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(AppendResponse.json(await server.witnessed(r)), status: .created)
        }
        router.post("/v1/contributions/{index}/takedown") { request, context -> Response in
            let index = try PathNumber.index(context, "index")
            let r = try await server.takeDown(index, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(AppendResponse.json(await server.witnessed(r)), status: .created)
        }
    }

    static func describe(_ c: ContributionRecord) -> JSONValue {
        .object([
            ("logIndex", .uint64(c.logIndex)), ("organisation", .string(c.organisation)), ("keyID", .string(c.keyID)),
            ("verifierKey", .string(c.verifierKey)),
            ("statementSHA256", .string(c.statementSHA256)), ("envelopeSHA256", .string(c.envelopeSHA256)),
            ("files", .object([(BundleLayout.expertFile, .string(c.expertSHA256)), (BundleLayout.routingFile, .string(c.routingSHA256))])),
            ("privacy", (try? StrictJSONParser.parse(Array(c.privacy.utf8))) ?? .null),
            ("revokedAt", c.revokedAt.map { .uint64($0) } ?? .null),
            ("takenDownAt", c.takenDownAt.map { .uint64($0) } ?? .null),
        ])
    }
}

enum AppendResponse {
    static func json(_ r: AppendResult) -> JSONValue {
        .object([("logIndex", .uint64(r.index)), ("treeSize", .uint64(r.size)), ("checkpoint", .string(r.checkpoint)),
                 ("inclusionProof", .base64Array(r.proof))])
    }
}
