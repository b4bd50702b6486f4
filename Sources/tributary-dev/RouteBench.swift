import ArgumentParser
import Foundation
import TributaryAPI
import TributaryClient
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel

/// `/v1/route` under load against a running server, beside `/healthz` in the same run (what the
/// HTTP stack alone answers), and the model-bound limit: the anchor FLOPs the queries sent need
/// (the layers below the signature's, no output head, no padding, causal attention) at the sgemm
/// peak measured here before the load starts (the server's process, idle then, uses the same cores).
struct BenchRouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-route",
        abstract: "/v1/route requests/s and latency under load, beside /healthz and the model-bound limit.")
    @Option(help: "The server's URL.") var server: String
    @Option(help: "The anchor directory the server routes with (tokenizer, shape, signature layer).") var anchor: String
    @Option(help: "A directory of text files (searched recursively): each query is one file's first --query-bytes bytes.") var texts: String
    @Option(help: "Bytes of text per query.") var queryBytes = 1000
    @Option(help: "Concurrent clients (each sends its next request when the last is answered).") var clients = 8
    @Option(help: "Seconds of load per endpoint.") var seconds = 20.0
    @Option(help: "Tokens per /v1/generate request in the generation phase (0: no generation phase).") var generateTokens = 32
    @Flag(help: "One JSON object instead of text.") var json = false

    func run() async throws {
        prepareCompute()
        try await reportingErrors { try await measure() }
    }

    struct Load {
        var latencies: [Double] = []
        var outcomes: [String: Int] = [:]
        var seconds = 0.0
        var answered: Int { latencies.count }
        var perSecond: Double { Double(answered) / seconds }
        func percentile(_ p: Double) -> Double {
            let s = latencies.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))] * 1000
        }
    }

    /// `clients` (default: --clients) each sending its next request when the last is answered, for --seconds.
    func load(clients: Int? = nil, _ body: @escaping @Sendable (Int) async throws -> Void) async -> Load {
        let clients = clients ?? self.clients
        let t0 = Date(), deadline = t0.addingTimeInterval(seconds)
        var total = Load()
        await withTaskGroup(of: Load.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var mine = Load(), i = c
                    while Date() < deadline {
                        let s = Date()
                        do {
                            try await body(i)
                            mine.latencies.append(Date().timeIntervalSince(s))
                            mine.outcomes["ok", default: 0] += 1
                        } catch let e as TributaryError {
                            mine.outcomes[e.code, default: 0] += 1
                        } catch {
                            mine.outcomes["error", default: 0] += 1
                        }
                        i += clients
                    }
                    return mine
                }
            }
            for await l in group {
                total.latencies += l.latencies
                for (k, v) in l.outcomes { total.outcomes[k, default: 0] += v }
            }
        }
        total.seconds = Date().timeIntervalSince(t0)
        return total
    }

    @inline(never) func measure() async throws {
        let a = try AnchorDirectory.load(anchor)
        let m = a.model, c = m.config, t = m.tokenizer, layer = a.space.layer
        let files = (FileManager.default.subpaths(atPath: texts) ?? []).sorted()
        var queries = [String]()
        for f in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: texts + "/" + f, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let d = FileManager.default.contents(atPath: texts + "/" + f), !d.isEmpty else { continue }
            queries.append(String(decoding: d.prefix(queryBytes), as: UTF8.self))
        }
        guard !queries.isEmpty else { throw ValidationError("\(texts) holds no text files") }
        // FLOPs per query: blocks below `layer` whole, and block `layer`'s attention (its FFN input is the point).
        let C = Double(c.hiddenSize), F = Double(c.intermediateSize), Q = Double(c.qDim), W = Double(c.qkvDim)
        let tokens = queries.map { Double(t.leadingDocumentTokens(Array($0.utf8), count: t.embeddingTokens).count - 1) }
        func flops(_ n: Double) -> Double {
            let attention = n * 2 * (W * C + Q * C) + 2 * n * n * Q   // projections; causal q·k and p·v
            return Double(layer) * (attention + n * 6 * C * F) + (layer < c.numLayers ? attention : 0)
        }
        let meanFlops = tokens.map(flops).reduce(0, +) / Double(tokens.count)
        let peak = SgemmPeak.measure(workers: ProcessInfo.processInfo.activeProcessorCount)
        let limit = peak * 1e9 / meanFlops

        // The same queries embedded in this process, 16 to a pass on every core: what the model costs
        // without HTTP, the batcher or the server's other work (best of 3 sweeps), and where it goes.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var inProcess = 0.0
        PassProfile.enabled = true
        for _ in 0..<3 {
            PassProfile.reset()
            let t0 = ProgressReporter.now()
            for start in stride(from: 0, to: queries.count, by: 16) {
                _ = a.space.embed(model: m, texts: Array(queries[start..<min(queries.count, start + 16)]), workers: cores)
            }
            inProcess = max(inProcess, Double(queries.count) / (ProgressReporter.now() - t0))
        }
        let profile = PassProfile.snapshot(), profiled = profile.reduce(0) { $0 + $1.seconds }
        PassProfile.enabled = false

        let client = try TributaryClient(server: server)
        _ = try await client.health()
        let health = await load { _ in _ = try await client.health() }
        let qs = queries
        let route = await load { i in
            let r = try await client.route(RouteRequest(.texts([qs[i % qs.count]]), topK: 2))
            guard r.results.count == 1 else { throw TributaryError("client.bad_response", "the /v1/route answer does not hold one result") }
        }
        // /v1/generate: one client alone, then every client at once (the server decodes them together).
        var generation: (one: Load, all: Load)?
        if generateTokens > 0 {
            let n = generateTokens
            let ask = { @Sendable (i: Int) async throws in
                _ = try await client.generate(GenerateRequest(prompt: String(qs[i % qs.count].prefix(200)), maxTokens: n, temperature: 0.8, seed: i))
            }
            let all = await load(ask)
            let one = await load(clients: 1, ask)
            generation = (one, all)
        }
        let meanTokens = tokens.reduce(0, +) / Double(tokens.count)
        if json {
            printJSON(.object([
                ("clients", .int(clients)), ("seconds", .double(seconds)), ("queries", .int(queries.count)),
                ("meanTokens", .double(meanTokens)), ("layer", .int(layer)), ("flopsPerQuery", .double(meanFlops)),
                ("sgemmPeak", .double(peak)), ("core", .string(BLASThreads.coreName)), ("modelBoundPerSecond", .double(limit)),
                ("inProcessPerSecond", .double(inProcess)), ("routePerSecond", .double(route.perSecond)), ("routeP50ms", .double(route.percentile(0.5))), ("routeP99ms", .double(route.percentile(0.99))),
                ("healthPerSecond", .double(health.perSecond)), ("healthP99ms", .double(health.percentile(0.99))),
                ("routeOutcomes", .object(route.outcomes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                ("generateTokensPerSecondOneClient", .double(generation.map { $0.one.perSecond * Double(generateTokens) } ?? 0)),
                ("generateTokensPerSecondAllClients", .double(generation.map { $0.all.perSecond * Double(generateTokens) } ?? 0)),
            ]))
            return
        }
        print(String(format: "queries: %d texts of up to %d bytes, %.0f tokens on average; signature layer %d of %d", queries.count, queryBytes,
                     meanTokens, layer, c.numLayers))
        print(String(format: "model-bound limit: %.2f GFLOP a query at the sgemm peak %.0f GFLOP/s (%@) = %.1f queries/s",
                     meanFlops / 1e9, peak, BLASThreads.coreName, limit))
        print(String(format: "in this process, 16 queries a pass on %d cores: %.1f queries/s = %.0f%% of the limit; pass time by part: %@", cores,
                     inProcess, 100 * inProcess / limit,
                     profile.filter { $0.seconds > 0 }.map { String(format: "%@ %.0f%%", $0.part.name, 100 * $0.seconds / profiled) }.joined(separator: ", ")))
        print(String(format: "%d clients, %.0f s each:", clients, seconds))
        print(String(format: "  /healthz   %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms", health.perSecond, health.percentile(0.5), health.percentile(0.99)))
        print(String(format: "  /v1/route  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  = %.0f%% of the model-bound limit  %@", route.perSecond,
                     route.percentile(0.5), route.percentile(0.99), 100 * route.perSecond / limit,
                     route.outcomes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")))
        if let g = generation {
            // Requests stopped by the end of a document early count as full ones: an upper bound on both sides.
            print(String(format: "  /v1/generate (%d tokens a request, sampled): 1 client %.1f tokens/s (p50 %.0f ms); %d clients %.1f tokens/s (p50 %.0f ms, p99 %.0f ms), %.2fx  %@",
                         generateTokens, g.one.perSecond * Double(generateTokens), g.one.percentile(0.5), clients, g.all.perSecond * Double(generateTokens),
                         g.all.percentile(0.5), g.all.percentile(0.99), g.all.perSecond / max(g.one.perSecond, 1e-9),
                         g.all.outcomes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")))
        }
    }
}
