import Hummingbird
import Logging
import NIOCore
import TributaryCore
import TributaryHTTP
import TributaryLog

/// The witness's HTTP interface (C2SP tlog-witness): `POST /add-checkpoint`, answering 200 with the
/// cosignature line, or the spec's status with a one-line reason (409 with the witness's size as
/// `text/x.tlog.size`). Listens like the server (`Listener`: TLS, idle timeout, no plain HTTP on a
/// reachable address unless allowed), reads a body within `bodyDeadlineSeconds`, and closes the
/// connection after refusing one.
public enum WitnessApplication {
    public static func router(for witness: Witness, bodyDeadlineSeconds: Double = 10) -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.get("/healthz") { _, _ -> Response in text(.ok, "ok\n") }
        router.post("/add-checkpoint") { request, context -> Response in
            do {
                let body = try await RequestBodies.collect(request, context: context, limit: AddCheckpointRequest.maxBodySize, deadline: bodyDeadlineSeconds)
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: try await witness.addCheckpoint(body))))
            } catch let e as WitnessError {
                if case let .conflict(size, _) = e {
                    return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
                }
                return text(HTTPResponse.Status(code: e.status), e.message + "\n")
            } catch let e as RequestBodyError {
                // The body was not read to its end: answer, then close.
                let status: HTTPResponse.Status = if case .timeout = e { .requestTimeout } else { .contentTooLarge }
                return Response.closing(context.channel, status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                                        bytes: ByteBuffer(string: e.message + "\n"))
            } catch {
                // Anything else (the state could not be written) is ours, and nothing was cosigned.
                return text(.internalServerError, "witness error: \((error as? CodedError)?.message ?? "\(error)")\n")
            }
        }
        return router
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public static func make(witness: Witness, listener: Listener, bodyDeadlineSeconds: Double = 10, logger: Logger,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        try listener.validate()
        if try listener.checkTransport("the witness") {
            logger.warning("serving the witness over plain HTTP on a non-loopback address", metadata: ["host": "\(listener.host)"])
        }
        return Application(router: router(for: witness, bodyDeadlineSeconds: bodyDeadlineSeconds), server: try listener.serverBuilder(),
                           configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: "tributary-witness"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? listener.port) }, logger: logger)
    }
}
