import Hummingbird
import Logging
import NIOCore
import TributaryCore
import TributaryLog

/// The witness's HTTP interface (C2SP tlog-witness): `POST /add-checkpoint`, answering 200 with the
/// cosignature line, or the spec's status with a one-line reason (409 with the witness's size as
/// `text/x.tlog.size`).
public enum WitnessApplication {
    public static func router(for witness: Witness) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ -> Response in text(.ok, "ok\n") }
        router.post("/add-checkpoint") { request, _ -> Response in
            do {
                let body = Array(buffer: try await request.body.collect(upTo: AddCheckpointRequest.maxBodySize))
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: try await witness.addCheckpoint(body))))
            } catch let e as WitnessError {
                if case let .conflict(size, _) = e {
                    return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
                }
                return text(HTTPResponse.Status(code: e.status), e.message + "\n")
            } catch {
                // A body over the limit is the client's; anything else (the state could not be
                // written) is ours, and nothing was cosigned.
                if error is NIOTooManyBytesError { return text(.badRequest, "the body is larger than \(AddCheckpointRequest.maxBodySize) bytes\n") }
                return text(.internalServerError, "witness error: \((error as? CodedError)?.message ?? "\(error)")\n")
            }
        }
        return router
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public static func make(witness: Witness, host: String, port: Int, logger: Logger,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(for: witness), configuration: .init(address: .hostname(host, port: port), serverName: "tributary-witness"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
