import Hummingbird
import TributaryHTTP
import TributaryCore
import TributaryAPI
import TributaryRouting

/// Using the combined model: routing, scoring, generation, and the list of experts.
struct ServingRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.post(RouterPath(APIPath.route)) { request, context -> Response in
            let body = try await RequestBody.jsonObject(request, context, limit: 4 << 20, deadline: server.config.bodyDeadlineSeconds)
            let r = try RouteRequest(json: body)
            let k = r.topK ?? RouteRequest.defaultTopK, t = r.temperature ?? RouteRequest.defaultTemperature
            let channel = context.channel
            let gone: @Sendable () -> Bool = { ClientPresence.isGone(channel) }
            let results: [[RoutedExpert]]
            switch r.query {
            case let .text(text): results = try await server.route(texts: [text], topK: k, temperature: t, abandoned: gone)
            case let .texts(texts): results = try await server.route(texts: texts, topK: k, temperature: t, abandoned: gone)
            case let .embedding(e): results = try await server.route(embeddings: [e], topK: k, temperature: t)
            case let .embeddings(es): results = try await server.route(embeddings: es, topK: k, temperature: t)
            }
            let release = await server.releases.current?.manifest.release ?? 0
            return JSONResponse.make(RouteAnswer(release: release, results: results, isBatch: r.isBatch).json)
        }
        router.post(RouterPath(APIPath.score)) { request, context -> Response in
            let r = try ScoreRequest(json: try await RequestBody.jsonObject(request, context, deadline: server.config.bodyDeadlineSeconds))
            let channel = context.channel
            let (release, e) = try await server.score(text: r.text, abandoned: { ClientPresence.isGone(channel) })
            return JSONResponse.make(ScoreAnswer(release: release, bitsPerByte: e.bitsPerByte, bits: e.bits, bytes: e.bytes,
                                                 routing: RoutingMethod.rows.rawValue).json)
        }
        router.post(RouterPath(APIPath.generate)) { request, context -> Response in
            let r = try GenerateRequest(json: try await RequestBody.jsonObject(request, context, deadline: server.config.bodyDeadlineSeconds),
                                        maxTokensLimit: server.config.maxGenerateTokens)
            let channel = context.channel
            let n = r.maxTokens ?? GenerateRequest.defaultMaxTokens(limit: server.config.maxGenerateTokens)
            let (release, text) = try await server.generate(prompt: r.prompt, maxTokens: n, temperature: Float(r.temperature), topK: r.topK,
                                                            seed: UInt64(r.seed),
                                                            abandoned: { ClientPresence.isGone(channel) })
            return JSONResponse.make(GenerateAnswer(release: release, text: text, routing: RoutingMethod.rows.rawValue).json)
        }
        router.get(RouterPath(APIPath.experts)) { _, _ -> Response in
            guard let r = await server.releases.current else { return JSONResponse.make(ExpertsAnswer(release: nil, experts: []).json) }
            var experts = [ExpertsAnswer.Expert(expert: 0, organisation: "anchor", contribution: nil, privacy: .null)]
            for (i, e) in r.manifest.experts.enumerated() {
                let privacy = try await server.store.contribution(e.contribution)?.privacyJSON ?? .null
                experts.append(ExpertsAnswer.Expert(expert: i + 1, organisation: e.organisation, contribution: e.contribution, privacy: privacy))
            }
            return JSONResponse.make(ExpertsAnswer(release: r.manifest.release, experts: experts).json)
        }
    }
}
