import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import TributaryCore

/// The HTTP application: every route, the error middleware, request logging and metrics.
public enum ServerApplication {
    /// Builds the router. Exposed so tests can compare its routes with protocol/openapi.yaml.
    public static func router(for server: AggregationServer) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: APIErrorMiddleware())
        router.get("/healthz") { _, _ -> Response in JSONResponse.make(.object([("status", .string("ok"))])) }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: server.metrics.render())))
        }
        LogRoutes(server: server).register(on: router)
        TileRoutes(server: server).register(on: router)
        ContributionRoutes(server: server).register(on: router)
        AdminRoutes(server: server).register(on: router)
        ReleaseRoutes(server: server).register(on: router)
        ServingRoutes(server: server).register(on: router)
        return router
    }

    /// The application; `onRunning` receives the bound port (useful with port 0).
    public static func make(server: AggregationServer, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> some ApplicationProtocol {
        let c = server.config
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(c.idleTimeoutSeconds)))
        let builder: HTTPServerBuilder
        if let cert = c.tlsCertificate, let key = c.tlsKey {
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            builder = try .tls(http, tlsConfiguration: tls)
        } else {
            builder = http
        }
        return Application(router: router(for: server), server: builder,
                           configuration: .init(address: .hostname(c.host, port: c.port), serverName: "tributary"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? c.port) },
                           logger: server.logger)
    }
}
