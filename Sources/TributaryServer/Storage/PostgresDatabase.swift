import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One PostgreSQL connection behind the synchronous `SQLDatabase` calls (postgres-nio underneath).
/// The connection runs on an event-loop group of its own, and callers block on its futures from the
/// actor that owns it: never on an event loop, so the wait cannot stall one. A lost connection (the
/// database restarted) is reopened by the next call outside a transaction; a transaction it broke
/// fails as a whole, and nothing of it was committed.
///
/// Every transaction first takes one transaction-scoped advisory lock, so writes of all replicas are
/// serialised by the database itself: one appends, signs and commits a checkpoint while the others
/// wait, and each reads the log's size only after it holds the lock.
final class PostgresDatabase: SQLDatabase {
    let dialect = SQLDialect.postgres
    let target: PostgresLocation
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var connection: PostgresConnection?
    private var inTransaction = false
    private let logger: Logger
    /// The advisory lock key every transaction takes (ASCII "tributar"): any fixed 64-bit number
    /// works, as long as every replica uses the same one.
    static let writeLockKey: Int64 = 0x7472_6962_7574_6172

    var location: String { target.description }

    init(_ target: PostgresLocation) throws {
        self.target = target
        var logger = Logger(label: "tributary.postgres")
        logger.logLevel = .warning
        self.logger = logger
        do {
            try connect()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Closes without waiting: the last reference may drop on any thread, an event loop's among
    /// them (Hummingbird's, when a server's router goes), and waiting there is NIO's precondition
    /// failure. The close and the group's shutdown finish on their own.
    deinit {
        let group = self.group
        let shutdown: @Sendable () -> Void = { DispatchQueue.global().async { group.shutdownGracefully { _ in } } }
        guard let connection else { return shutdown() }
        // The closure keeps the connection alive until it is closed (postgres-nio asserts that).
        connection.close().whenComplete { _ in withExtendedLifetime(connection) { shutdown() } }
    }

    private func connect() throws {
        var tls = PostgresConnection.Configuration.TLS.disable
        if target.requireTLS {
            do { tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch {
                throw StoreError.database("TLS for \(location): \(error)")
            }
        }
        var config = PostgresConnection.Configuration(host: target.host, port: target.port, username: target.user,
                                                      password: target.password, database: target.database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        let c: PostgresConnection
        do {
            c = try PostgresConnection.connect(on: group.next(), configuration: config, id: 1, logger: logger).wait()
        } catch {
            throw StoreError.unavailable("cannot connect to \(location): \(Self.describe(error))")
        }
        // Bounded waits, set for the session: the write lock another session holds, any statement,
        // and the server's TCP keepalives (a replica that vanished releases its lock within ~25 s).
        let settings = ["SET lock_timeout = \(Int(target.lockTimeoutSeconds * 1000))", "SET statement_timeout = \(Int(target.statementTimeoutSeconds * 1000))",
                        "SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3"]
        do {
            for s in settings { _ = try c.query(PostgresQuery(unsafeSQL: s), logger: logger).wait() }
        } catch {
            _ = try? c.close().wait()
            throw StoreError.unavailable("cannot set up the session on \(location): \(Self.describe(error))")
        }
        connection = c
    }

    /// The open connection; a closed one is replaced, except inside a transaction (which it ended).
    private func open() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        guard !inTransaction else { throw StoreError.unavailable("the connection to \(location) was lost inside a transaction; nothing of it was committed") }
        connection = nil
        try connect()
        return connection!
    }

    /// `?` placeholders as PostgreSQL's `$1, $2, …` (our SQL has no `?` inside string literals).
    static func numbered(_ sql: String) -> String {
        var out = "", n = 0
        out.reserveCapacity(sql.count + 16)
        for ch in sql {
            if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    private func send(_ sql: String, _ values: [SQLValue]) throws -> [PostgresRow] {
        var binds = PostgresBindings(capacity: values.count)
        for v in values {
            switch v {
            case .null: binds.appendNull()
            case let .int(x): binds.append(x)
            case let .double(x): binds.append(x)
            case let .text(s): binds.append(s)
            case let .blob(b): binds.append(ByteBuffer(bytes: b))
            }
        }
        let connection = try open()
        // The database cancels a statement after statement_timeout; a network that went silent would
        // answer nothing at all, so the connection is closed a little later still (the call then
        // fails, and the next one outside a transaction reconnects).
        let silence = connection.eventLoop.scheduleTask(in: .milliseconds(Int64((target.statementTimeoutSeconds + 5) * 1000))) {
            connection.close().whenComplete { _ in }
        }
        defer { silence.cancel() }
        do {
            return try connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger).wait().rows
        } catch let e as PSQLError {
            if let state = e.serverInfo?[.sqlState] {
                // Class 23: integrity constraint violations (unique, foreign key, check).
                if state.hasPrefix("23") { throw StoreError.constraint(e.serverInfo?[.message] ?? state) }
                // 55P03 lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout).
                if state == "55P03" {
                    throw StoreError.unavailable("\(location): another session held the write lock for more than \(target.lockTimeoutSeconds) s; try again")
                }
                if state == "57014" {
                    throw StoreError.unavailable("\(location): a statement ran longer than \(target.statementTimeoutSeconds) s and was cancelled; try again")
                }
                // Class 08 (connection), 57P (operator intervention: shutdown, crash): try again later.
                if state.hasPrefix("08") || state.hasPrefix("57P") { throw StoreError.unavailable("\(location): \(e.serverInfo?[.message] ?? state)") }
                throw StoreError.database("\(e.serverInfo?[.message] ?? state) (SQLSTATE \(state)) in: \(sql.prefix(80))")
            }
            throw StoreError.unavailable("\(location): \(Self.describe(e))")
        } catch {
            throw StoreError.unavailable("\(location): \(Self.describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)" + (e.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }

    private static func decode(_ row: PostgresRow) throws -> DecodedRow {
        var values = [SQLValue]()
        for cell in row {
            guard cell.bytes != nil else {
                values.append(.null)
                continue
            }
            do {
                switch cell.dataType {
                case .int2, .int4, .int8: values.append(.int(try cell.decode(Int64.self)))
                case .float4, .float8: values.append(.double(try cell.decode(Double.self)))
                case .numeric: values.append(.double(Double(try cell.decode(String.self)) ?? .nan))
                case .text, .varchar, .name, .bpchar: values.append(.text(try cell.decode(String.self)))
                case .bytea:
                    let b = try cell.decode(ByteBuffer.self)
                    values.append(.blob(Array(b.readableBytesView)))
                case .bool: values.append(.int(try cell.decode(Bool.self) ? 1 : 0))
                default: throw StoreError.database("column \(cell.columnName) has type \(cell.dataType), which the store does not read")
                }
            } catch let e as StoreError {
                throw e
            } catch {
                throw StoreError.database("column \(cell.columnName): \(error)")
            }
        }
        return DecodedRow(values: values)
    }

    func execute(_ sql: String) throws { _ = try send(sql, []) }

    func run(_ sql: String, _ values: [SQLValue]) throws { _ = try send(sql, values) }

    func query<T>(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T] {
        try send(sql, values).map { try row(try Self.decode($0)) }
    }

    /// Through a cursor, 1,024 rows at a time (in a snapshot of its own when not in a transaction).
    func each(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> Void) throws {
        func scan() throws {
            try run("DECLARE tributary_scan NO SCROLL CURSOR FOR " + sql, values)
            while true {
                let rows = try send("FETCH FORWARD 1024 FROM tributary_scan", [])
                for r in rows { try row(try Self.decode(r)) }
                if rows.count < 1024 { break }
            }
            try run("CLOSE tributary_scan")
        }
        if inTransaction { try scan() } else { try snapshot { try scan() } }
    }

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try within("BEGIN ISOLATION LEVEL READ COMMITTED") {
            // Taken before any read: under READ COMMITTED each later statement sees every
            // transaction committed before this one got the lock.
            try run("SELECT pg_advisory_xact_lock(?)", [.int(Self.writeLockKey)])
            return try body()
        }
    }

    func snapshot<T>(_ body: () throws -> T) throws -> T {
        try within("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// `body` between `begin` and COMMIT; rolled back when it throws (if the connection still lives).
    private func within<T>(_ begin: String, _ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "nested transaction")
        try execute(begin)
        inTransaction = true
        defer { inTransaction = false }
        do {
            let v = try body()
            try execute("COMMIT")
            return v
        } catch {
            if let connection, !connection.isClosed { _ = try? connection.query("ROLLBACK", logger: logger).wait() }
            throw error
        }
    }

    func tableExists(_ name: String) throws -> Bool {
        try first("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?", [.text(name)], { _ in true }) ?? false
    }
}
