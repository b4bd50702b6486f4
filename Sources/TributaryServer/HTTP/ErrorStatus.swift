import Hummingbird

/// The one table from error code to HTTP status (protocol/SPEC.md §8 lists the status of every code):
/// each family of codes (the part before the dot) has its status, and a few codes differ from their
/// family's. Families the server never produces (the CLI's, the auditor's, the developer tools')
/// are listed too, so a code of any family the code base knows has an answer, never a guess.
enum ErrorStatus {
    static let families: [String: HTTPResponse.Status] = [
        // What a request sent: malformed, oversized or refused input.
        "upload": .badRequest, "bundle": .badRequest, "statement": .badRequest, "envelope": .badRequest,
        "safetensors": .badRequest, "note": .badRequest, "checkpoint": .badRequest, "key": .badRequest,
        "request": .badRequest, "api": .badRequest, "corpus": .badRequest, "identity": .badRequest, "tile": .badRequest,
        // A witness's answers (tlog-witness statuses; a separate service, listed here so every code has one).
        "witness": .badRequest,
        // A well-formed contribution the server's checks refuse.
        "contribution": .unprocessableContent, "model": .unprocessableContent,
        // The server's own state or files.
        "server": .internalServerError, "io": .internalServerError, "log": .internalServerError,
        "anchor": .internalServerError, "routing": .internalServerError, "policy": .internalServerError,
    ]

    /// Families only the command line, the auditor or the developer tools produce: a server that
    /// ever answered with one would have a bug, so it answers 500 and logs it.
    static let clientOnly: Set<String> = ["train", "dp", "release", "demo", "client", "inclusion", "eval", "audit", "drill", "bench", "deployment", "gguf", "tokenizer", "export", "model_signing", "contribute"]

    static let codes: [String: HTTPResponse.Status] = [
        "upload.too_large": .contentTooLarge, "upload.file_too_large": .contentTooLarge, "envelope.too_large": .contentTooLarge,
        "io.too_large": .contentTooLarge,
        "bundle.signature_invalid": .forbidden, "contribution.unknown_key": .forbidden, "contribution.key_revoked": .forbidden,
        "request.bad_signature": .forbidden, "request.unknown_key": .forbidden, "request.key_revoked": .forbidden,
        "request.key_mismatch": .forbidden, "request.forbidden": .forbidden, "api.forbidden": .forbidden,
        "contribution.duplicate": .conflict, "request.replayed": .conflict, "api.conflict": .conflict,
        "api.not_found": .notFound, "api.method_not_allowed": .methodNotAllowed, "api.unavailable": .serviceUnavailable,
        "log.bad_range": .badRequest, "request.wrong_origin": .forbidden,
        "api.busy": .serviceUnavailable, "api.timeout": .requestTimeout, "upload.timeout": .requestTimeout,
        "upload.envelope_timeout": .requestTimeout, "upload.too_slow": .requestTimeout,
        "identity.organisation_enrolled": .conflict, "identity.key_enrolled": .conflict, "identity.key_id_collision": .conflict,
        "identity.no_live_key": .conflict, "tile.not_found": .notFound, "log.entry_too_large": .contentTooLarge,
        "witness.forbidden": .forbidden, "witness.unknown_log": .notFound, "witness.conflict": .conflict,
        "witness.bad_proof": .unprocessableContent, "witness.bad_response": .internalServerError, "witness.state_lost": .internalServerError,
        "witness.bad_policy": .internalServerError, "witness.quorum_unmet": .internalServerError,
        "key.p256_failed": .internalServerError, "server.database_unavailable": .serviceUnavailable, "api.gone": .gone, "server.disk_budget": HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
        // Nobody reads it: the client left (nginx's 499, "client closed request").
        "api.client_gone": HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"),
    ]

    /// The status of `code`; nil for a family this table does not know (a bug the error-code test catches).
    static func status(for code: String) -> HTTPResponse.Status? {
        if let s = codes[code] { return s }
        let family = String(code.prefix { $0 != "." })
        if clientOnly.contains(family) { return .internalServerError }
        return families[family]
    }
}
