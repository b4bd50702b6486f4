import Hummingbird
import TributaryHTTP
import TributaryCore
import TributaryLog

/// Enrolment and key revocation: signed requests only.
struct AdminRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.post("/v1/admin/enrolments") { request, context -> Response in
            let body = try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds)
            let (_, req) = try SignedRequest.parse(body)
            guard case let .string(text)? = req.parameters["verifierKey"] else {
                throw RequestError.malformed("parameters.verifierKey is required")
            }
            let r = try await server.enrol(try VerifierKey(parsing: text), request: body)
            return JSONResponse.make(AppendResponse.json(await server.witnessed(r)), status: .created)
        }
        router.post("/v1/admin/rotations") { request, context -> Response in
            let r = try await server.rotateKey(request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(AppendResponse.json(await server.witnessed(r)), status: .created)
        }
        router.get("/v1/keys") { _, _ -> Response in
            let keys = try await server.store.keys()
            return JSONResponse.make(.object([("keys", .array(keys.map {
                .object([("keyID", .string($0.keyID)), ("organisation", .string($0.organisation)),
                         ("verifierKey", .string($0.verifierKey.encoded)), ("enrolledAt", .uint64($0.enrolledAt)),
                         ("retiredAt", $0.retiredAt.map { .uint64($0) } ?? .null),
                         ("revokedAt", $0.revokedAt.map { .uint64($0) } ?? .null)])
            }))]))
        }
        router.post("/v1/keys/{keyID}/revocation") { request, context -> Response in
            let keyID = try context.parameters.require("keyID")
            guard Hex.isLowerHex(keyID, byteCount: 4) else { throw ServerError.badRequest("key ID must be 8 lower-case hex digits") }
            let r = try await server.revokeKey(keyID, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(AppendResponse.json(await server.witnessed(r)), status: .created)
        }
        router.get("/v1/policy") { _, _ -> Response in
            JSONResponse.make(.object([
                ("policy", server.config.policy.json), ("anchor", .object([("sha256", .string(server.anchor.digest))])),
                ("origin", .string(server.config.origin)),
                ("document", .string(Base64.encode(server.policyDocument))), ("logIndex", .uint64(server.policyIndex)),
                ("maxUploadBytes", .uint64(server.config.maxUploadBytes)), ("expertsPerToken", .int(server.config.expertsPerToken)),
                ("probeBitsPerByte", .double(server.verifier.probe.anchorBitsPerByte)),
                ("logKey", .string(server.logVerifierKey.encoded)),
            ]))
        }
    }
}
