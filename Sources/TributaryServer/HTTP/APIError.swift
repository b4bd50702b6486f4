import Hummingbird
import NIOCore
import TributaryHTTP
import TributaryCore

/// Every error the API returns, as JSON `{"error": {"code", "message"}}` with the HTTP status its
/// code maps to in `ErrorStatus` (protocol/SPEC.md §8).
struct APIError: HTTPResponseError {
    let code: String
    let message: String
    let status: HTTPResponse.Status

    init(_ error: any Error) {
        if let e = error as? APIError {
            self = e
        } else if let e = error as? CodedError {
            self.init(code: e.code, message: e.message)
        } else if let e = error as? HTTPError {
            // The HTTP layer's own refusals (no such route, a path parameter of the wrong type, a body
            // over its limit) get codes like every other error.
            let message = e.body ?? "\(e.status)"
            switch e.status.code {
            case 404: self.init(code: "api.not_found", message: message)
            case 405: self.init(code: "api.method_not_allowed", message: message)
            case 413: self.init(code: "upload.too_large", message: message)
            case 400..<500: self.init(code: "api.bad_request", message: message)
            default: self.init(code: "server.internal", message: "internal error")
            }
        } else {
            self.init(code: "server.internal", message: "internal error")
        }
    }

    init(code: String, message: String) {
        self.code = code
        self.message = message
        status = ErrorStatus.status(for: code) ?? .internalServerError
    }

    /// Seconds a client should wait before retrying a 503.
    static let retryAfterSeconds = 2

    /// The JSON body of the answer.
    var body: [UInt8] { JSONWriter.serialize(.object([("error", .object([("code", .string(code)), ("message", .string(message))]))])) + [0x0a] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = JSONResponse.make(.object([("error", .object([("code", .string(code)), ("message", .string(message))]))]), status: status)
        if status == .serviceUnavailable { r.headers[.retryAfter] = String(Self.retryAfterSeconds) }
        return r
    }
}

/// Turns any thrown error into an `APIError` response and logs server-side failures. A refusal of a
/// request that carries a body closes the connection after the answer: the rest of the body (a
/// refused upload's gigabytes, or a trickle cut at its deadline) is never read.
struct APIErrorMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: ServiceRequestContext, next: (Request, ServiceRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError(error)
            if api.status.code >= 500 { context.logger.error("request failed", metadata: ["error": "\(error)", "code": "\(api.code)"]) }
            guard request.method == .post else { throw api }
            var r = try api.response(from: request, context: context)
            var body = ByteBuffer()
            body.writeBytes(api.body)
            r = Response.closing(context.channel, status: r.status, headers: r.headers, bytes: body)
            return r
        }
    }
}
