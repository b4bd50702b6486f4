import Hummingbird
import TributaryHTTP
import TributaryLog
import TributaryAPI

/// The log as C2SP tlog-tiles static resources beside the proof API: `/tile/<L>/<N>[.p/<W>]` and
/// `/tile/entries/<N>[.p/<W>]` of the tree at the latest checkpoint (`/checkpoint`, `LogRoutes`).
/// A tile of a given name never changes, full or partial, so every one may be cached for good.
struct TileRoutes {
    let server: AggregationServer

    func register(on router: Router<ServiceRequestContext>) {
        router.get(RouterPath(APIPath.tiles)) { request, _ -> Response in
            let path = try TilePath.parse(request.uri.path)
            let bytes = try await server.store.tile(path)
            return Response(status: .ok,
                            headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
