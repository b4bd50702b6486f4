import Hummingbird
import TributaryHTTP
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import TributaryCore
import TributaryAPI

/// The HTTP application: every route, the error middleware, request logging and metrics.
public enum ServerApplication {
    /// Builds the router. Exposed so tests can compare its routes with protocol/openapi.yaml.
    public static func router(for server: AggregationServer) -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: APIErrorMiddleware())
        router.get(RouterPath(APIPath.healthz)) { _, _ -> Response in JSONResponse.make(HealthAnswer.ok.json) }
        router.get(RouterPath(APIPath.metrics)) { _, _ -> Response in
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
        return Application(router: router(for: server), server: try c.listener.serverBuilder(),
                           configuration: .init(address: .hostname(c.host, port: c.port), serverName: "tributary"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? c.port) },
                           logger: server.logger)
    }
}
