import Foundation
import TributaryCore

/// Where the server's metadata lives: a SQLite file in the data directory (the default, one
/// process) or a PostgreSQL database that several replicas share.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public var isShared: Bool { if case .postgres = self { return true } else { return false } }

    public var description: String {
        switch self {
        case let .sqlite(path): return path
        case let .postgres(p): return p.description
        }
    }
}

/// A PostgreSQL database: `postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|require]`. The
/// password is never part of the URL (command lines are visible to every user of the host): it
/// comes from a file or from `PGPASSWORD`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    /// TLS with the system's trust roots and the host name checked (`sslmode=require`).
    public var requireTLS: Bool
    /// How long a transaction waits for the write lock another session holds before the request
    /// gets 503 `server.database_unavailable` (a replica froze 38.8 s behind one held lock).
    public var lockTimeoutSeconds = 5.0
    /// How long any statement may run before the database cancels it (503 as well).
    public var statementTimeoutSeconds = 30.0

    public init(host: String, port: Int = 5432, user: String, database: String, password: String? = nil, requireTLS: Bool = false) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.requireTLS = requireTLS
    }

    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" + (requireTLS ? "?sslmode=require" : "") }

    /// Parses a `postgres://` URL; `passwordFile` (first line) or else `PGPASSWORD` gives the password.
    /// Refuses timeouts that would make a wait unbounded or every statement fail.
    public func validate() throws {
        guard (0.1...600).contains(lockTimeoutSeconds), (1...3600).contains(statementTimeoutSeconds) else {
            throw TributaryError("server.invalid_config", "the database lock timeout must be 0.1 to 600 s and the statement timeout 1 to 3600 s")
        }
    }

    public static func parse(_ url: String, passwordFile: String? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresLocation {
        func bad(_ why: String) -> TributaryError { TributaryError("server.bad_database_url", "\(why) in --database (expected postgres://USER@HOST:PORT/DATABASE)") }
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else { throw bad("not a postgres:// URL") }
        guard c.password == nil else {
            throw TributaryError("server.password_in_url", "a password in --database would be visible to every user of this host: put it in a file (--database-password-file) or in PGPASSWORD")
        }
        guard let user = c.user, !user.isEmpty else { throw bad("no user") }
        guard let host = c.host, !host.isEmpty else { throw bad("no host") }
        let port = c.port ?? 5432
        guard (1...65535).contains(port) else { throw bad("port \(port) out of range") }
        let database = String(c.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name") }
        var requireTLS = false
        for item in c.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): requireTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requireTLS = true
            default: throw bad("unknown parameter \(item.name)=\(item.value ?? "")")
            }
        }
        var password: String?
        if let passwordFile {
            var bytes = try readSecretFile(passwordFile)
            defer { secureZero(&bytes) }
            password = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        } else if let p = environment["PGPASSWORD"] {
            password = p
        }
        return PostgresLocation(host: host, port: port, user: user, database: database, password: password, requireTLS: requireTLS)
    }
}
