import Hummingbird
import TributaryHTTP
import NIOCore
import TributaryCore
import TributaryLog
import TributaryAPI

/// Uploading, inspecting and revoking contributions.
struct ContributionRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.post(RouterPath(APIPath.contributions)) { request, context -> Response in
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
        router.get(RouterPath(APIPath.contributions)) { request, _ -> Response in
            guard let sha = request.uri.queryParameters["statementSHA256"].map(String.init), Hex.isLowerHex(sha, byteCount: 32) else {
                throw ServerError.badRequest("give statementSHA256 (64 lower-case hex digits)")
            }
            guard let c = try await server.store.contribution(statementSHA256: sha) else { throw ServerError.notFound("no contribution with statement \(sha)") }
            return JSONResponse.make(Self.answer(c).json)
        }
        router.get(RouterPath(APIPath.contribution)) { _, context -> Response in
            let index = try PathNumber.index(context, "index")
            guard let c = try await server.store.contribution(index) else { throw ServerError.notFound("no contribution at log index \(index)") }
            return JSONResponse.make(Self.answer(c).json)
        }
        router.post(RouterPath(APIPath.contributionRevocation)) { request, context -> Response in
            let index = try PathNumber.index(context, "index")
            let r = try await server.revokeContribution(index, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(await server.witnessed(r).answer.json, status: .created)
        }
        router.post(RouterPath(APIPath.contributionTakedown)) { request, context -> Response in
            let index = try PathNumber.index(context, "index")
            let r = try await server.takeDown(index, request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds))
            return JSONResponse.make(await server.witnessed(r).answer.json, status: .created)
        }
    }

    static func answer(_ c: ContributionRecord) -> ContributionAnswer {
        ContributionAnswer(logIndex: c.logIndex, organisation: c.organisation, keyID: c.keyID, verifierKey: c.verifierKey,
                           statementSHA256: c.statementSHA256, envelopeSHA256: c.envelopeSHA256, expertSHA256: c.expertSHA256,
                           routingSHA256: c.routingSHA256, privacy: c.privacyJSON, revokedAt: c.revokedAt, takenDownAt: c.takenDownAt)
    }
}

extension ContributionRecord {
    /// The statement's privacy object as stored (`null` if it is not JSON).
    var privacyJSON: JSONValue { (try? StrictJSONParser.parse(Array(privacy.utf8))) ?? .null }
}

extension AppendResult {
    var answer: AppendAnswer { AppendAnswer(logIndex: index, treeSize: size, checkpoint: checkpoint, inclusionProof: proof) }
}
