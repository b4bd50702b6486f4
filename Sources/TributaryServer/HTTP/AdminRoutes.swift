import Hummingbird
import TributaryHTTP
import TributaryCore
import TributaryLog
import TributaryAPI

/// Enrolment and key revocation: signed requests only.
struct AdminRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.post(RouterPath(APIPath.enrolments)) { request, context -> Response in
            let body = try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds)
            // The key to enrol is a parameter of the request; `enrol` checks the request itself.
            let (_, req) = try SignedRequest.parse(body)
            guard case let .enrol(text) = try SignedAction(kind: .enrol, parameters: req.parameters) else { throw RequestError.malformed("not an enrolment") }
            let r = try await server.enrol(try VerifierKey(parsing: text), request: body)
            return JSONResponse.make(await server.witnessed(r).answer.json, status: .created)
        }
        router.post(RouterPath(APIPath.rotations)) { request, context -> Response in
            let r = try await server.rotateKey(request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(await server.witnessed(r).answer.json, status: .created)
        }
        router.get(RouterPath(APIPath.keys)) { _, _ -> Response in
            let keys = try await server.store.keys()
            return JSONResponse.make(KeysAnswer(keys: keys).json)
        }
        router.post(RouterPath(APIPath.keyRevocation)) { request, context -> Response in
            let keyID = try context.parameters.require("keyID")
            guard Hex.isLowerHex(keyID, byteCount: 4) else { throw ServerError.badRequest("key ID must be 8 lower-case hex digits") }
            let r = try await server.revokeKey(keyID, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(await server.witnessed(r).answer.json, status: .created)
        }
        router.get(RouterPath(APIPath.policy)) { _, _ -> Response in
            JSONResponse.make(PolicyAnswer(policy: server.config.policy, anchorSHA256: server.anchor.digest, origin: server.config.origin,
                                           document: server.policyDocument, logIndex: server.policyIndex,
                                           maxUploadBytes: server.config.maxUploadBytes, expertsPerToken: server.config.expertsPerToken,
                                           probeBitsPerByte: server.verifier.probe.anchorBitsPerByte, logKey: server.logVerifierKey).json)
        }
    }
}
