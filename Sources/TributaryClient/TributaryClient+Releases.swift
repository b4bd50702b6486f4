import TributaryAPI
import TributaryCore
import TributaryLog

/// Releases and using them: the manifest answers, routing, scoring, generation, the expert list.
extension TributaryClient {
    public func latestRelease() async throws -> ReleaseAnswer { try ReleaseAnswer(json: try await getJSON(APIPath.latestRelease)) }

    public func release(_ number: Int) async throws -> ReleaseAnswer { try ReleaseAnswer(json: try await getJSON(APIPath.release(number))) }

    public func route(_ request: RouteRequest) async throws -> RouteAnswer {
        try RouteAnswer(json: try await postJSON(APIPath.route, request.json))
    }

    /// `/v1/route` for each text (in order), `perRequest` texts a request: each text is embedded from
    /// its first tokens, so 24 texts stay under the server's default token bound per request.
    public func route(texts: [String], topK: Int = 2, perRequest: Int = 24) async throws -> (release: Int, results: [[RoutedExpert]]) {
        var out = [[RoutedExpert]](), release = 0
        for start in stride(from: 0, to: texts.count, by: max(1, perRequest)) {
            let chunk = Array(texts[start..<min(texts.count, start + max(1, perRequest))])
            let r = try await route(RouteRequest(.texts(chunk), topK: topK))
            guard r.isBatch, r.results.count == chunk.count else {
                throw TributaryError("client.bad_response", "the /v1/route answer does not hold one result per text")
            }
            release = r.release
            out += r.results
        }
        return (release, out)
    }

    public func score(_ request: ScoreRequest) async throws -> ScoreAnswer {
        try ScoreAnswer(json: try await postJSON(APIPath.score, request.json))
    }

    public func generate(_ request: GenerateRequest) async throws -> GenerateAnswer {
        try GenerateAnswer(json: try await postJSON(APIPath.generate, request.json))
    }

    public func experts() async throws -> ExpertsAnswer { try ExpertsAnswer(json: try await getJSON(APIPath.experts)) }

    public func health() async throws -> HealthAnswer { try HealthAnswer(json: try await getJSON(APIPath.healthz)) }
}
