import Hummingbird
import TributaryCore

/// Every error the API returns, as JSON `{"error": {"code", "message"}}` with the one HTTP status its
/// code maps to. This is the only place codes meet statuses (protocol/SPEC.md §11.5).
struct APIError: HTTPResponseError {
    let code: String
    let message: String
    let status: HTTPResponse.Status

    init(_ error: any Error) {
        if let e = error as? APIError {
            self = e
        } else if let e = error as? CodedError {
            code = e.code
            message = e.message
            status = Self.status(for: e.code)
        } else if let e = error as? HTTPError {
            code = "api.http"
            message = e.body ?? "\(e.status)"
            status = e.status
        } else {
            code = "server.internal"
            message = "internal error"
            status = .internalServerError
        }
    }

    static func status(for code: String) -> HTTPResponse.Status {
        switch code {
        case "upload.too_large", "upload.file_too_large": return .contentTooLarge
        case "bundle.signature_invalid", "contribution.unknown_key", "contribution.key_revoked", "request.bad_signature",
             "request.unknown_key", "request.key_revoked", "request.key_mismatch", "request.forbidden", "api.forbidden":
            return .forbidden
        case "contribution.duplicate", "request.replayed", "api.conflict": return .conflict
        case "api.not_found", "safetensors.tensor_not_found": return .notFound
        case "api.unavailable": return .serviceUnavailable
        default: break
        }
        if code.hasPrefix("contribution.") { return .unprocessableContent }
        for prefix in ["upload.", "bundle.", "statement.", "envelope.", "safetensors.", "request.", "api.", "key.", "checkpoint.", "log.bad_range", "note."]
        where code.hasPrefix(prefix) {
            return .badRequest
        }
        return .internalServerError
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(.object([("error", .object([("code", .string(code)), ("message", .string(message))]))]), status: status)
    }
}

/// Turns any thrown error into an `APIError` response and logs server-side failures.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError(error)
            if api.status.code >= 500 { context.logger.error("request failed", metadata: ["error": "\(error)"]) }
            throw api
        }
    }
}
