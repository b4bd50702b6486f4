import Hummingbird
import NIOCore

/// The request context of Tributary's services: Hummingbird's basics plus the connection, so a handler
/// can stop reading a body at its deadline and close a connection after refusing what it carried.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

extension Response {
    /// A response with `bytes` as its body, marked `Connection: close`, after which the connection
    /// closes. A refusal of a request whose body was not read to its end must not be followed by
    /// reading the rest (HTTP/1.1 keep-alive drains it: hundreds of MB behind a refused upload). The
    /// input side is shut now, so the server's loop finds no more request after this answer; the
    /// answer itself is written and flushed before the connection closes. Hummingbird then closes the
    /// connection; when it does not (a CI run kept a witness connection open 22 s after its 408,
    /// past a 5 s idle timeout), it is closed `closeGraceSeconds` after the answer, which is a few
    /// hundred bytes and long written by then.
    public static func closing(_ channel: any Channel, status: HTTPResponse.Status, headers: HTTPFields, bytes: ByteBuffer) -> Response {
        var h = headers
        h[.connection] = "close"
        channel.close(mode: .input, promise: nil)
        channel.eventLoop.scheduleTask(in: .seconds(closeGraceSeconds)) { channel.close(promise: nil) }
        return Response(status: status, headers: h, body: .init(byteBuffer: bytes))
    }

    public static let closeGraceSeconds: Int64 = 2
}

/// Whether the client of a connection is still there. Hummingbird reads nothing while a request is
/// being answered, so a client that hung up is noticed only through the socket itself: its side
/// closed shows as TCP CLOSE_WAIT. Work queued or running for a client that left is wasted — 70
/// abandoned routing requests once made a fresh one wait 112 s — and is dropped.
public enum ClientPresence {
    /// Blocks on the connection's event loop: call it from a compute thread, never an event loop.
    public static func isGone(_ channel: any Channel) -> Bool {
        guard channel.isActive else { return true }
        guard let socket = channel as? SocketOptionProvider, let info = try? socket.getTCPInfo().wait() else { return false }
        return info.tcpi_state == 8  // TCP_CLOSE_WAIT: the peer sent its FIN
    }
}
