import CSQLite
import Foundation
import TributaryCore

/// A thin wrapper over one sqlite3 connection: prepared statements, typed binds and columns,
/// transactions. Not thread-safe; `MetadataStore` (an actor) owns the only instance.
final class SQLiteDatabase: SQLDatabase {
    private var handle: OpaquePointer?
    let path: String
    let dialect = SQLDialect.sqlite
    var location: String { path }

    init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw StoreError.database("open \(path): \(msg)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        try execute("PRAGMA journal_mode=WAL")
        // FULL: a commit survives power loss, not only a process crash.
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &err) == SQLITE_OK else {
            let msg = err.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(err)
            throw StoreError.database("\(msg) in: \(sql.prefix(80))")
        }
    }

    final class Statement: SQLRow {
        let stmt: OpaquePointer
        let db: SQLiteDatabase
        init(_ stmt: OpaquePointer, _ db: SQLiteDatabase) {
            self.stmt = stmt
            self.db = db
        }
        deinit { sqlite3_finalize(stmt) }

        @discardableResult
        func bind(_ values: [SQLValue]) throws -> Statement {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            for (i, v) in values.enumerated() {
                let idx = Int32(i + 1)
                let rc: Int32
                switch v {
                case .null: rc = sqlite3_bind_null(stmt, idx)
                case let .int(x): rc = sqlite3_bind_int64(stmt, idx, x)
                case let .double(x): rc = sqlite3_bind_double(stmt, idx, x)
                case let .text(s): rc = sqlite3_bind_text(stmt, idx, s, -1, transient)
                case let .blob(b): rc = b.withUnsafeBytes { sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32(b.count), transient) }
                }
                guard rc == SQLITE_OK else { throw db.error("bind") }
            }
            return self
        }

        /// Steps once; true when a row is available.
        func step() throws -> Bool {
            switch sqlite3_step(stmt) {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            case SQLITE_CONSTRAINT: throw StoreError.constraint(String(cString: sqlite3_errmsg(db.handle)))
            default: throw db.error("step")
            }
        }

        func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
        func double(_ col: Int32) -> Double { sqlite3_column_double(stmt, col) }
        func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
        func text(_ col: Int32) -> String {
            guard let p = sqlite3_column_text(stmt, col) else { return "" }
            return String(cString: p)
        }
        func blob(_ col: Int32) -> [UInt8] {
            let n = Int(sqlite3_column_bytes(stmt, col))
            guard n > 0, let p = sqlite3_column_blob(stmt, col) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
    }

    private var cache: [String: Statement] = [:]

    /// A cached prepared statement with `values` bound.
    func prepare(_ sql: String, _ values: [SQLValue] = []) throws -> Statement {
        if let s = cache[sql] { return try s.bind(values) }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else { throw error("prepare \(sql.prefix(60))") }
        let s = Statement(stmt, self)
        cache[sql] = s
        return try s.bind(values)
    }

    func run(_ sql: String, _ values: [SQLValue]) throws {
        _ = try prepare(sql, values).step()
    }

    func query<T>(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T] {
        let s = try prepare(sql, values)
        var out = [T]()
        while try s.step() { out.append(try row(s)) }
        return out
    }

    func each(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> Void) throws {
        let s = try prepare(sql, values)
        defer { sqlite3_reset(s.stmt) }
        while try s.step() { try row(s) }
    }

    /// IMMEDIATE: the write lock is taken at BEGIN, before the body reads anything.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let v = try body()
            try execute("COMMIT")
            return v
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// A deferred transaction in WAL mode reads one snapshot from its first read on.
    func snapshot<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }

    func tableExists(_ name: String) throws -> Bool {
        try first("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(name)], { _ in true }) ?? false
    }

    func error(_ what: String) -> StoreError {
        StoreError.database("\(what): \(String(cString: sqlite3_errmsg(handle)))")
    }
}

public enum StoreError: CodedError, Equatable {
    case database(String)
    /// The database cannot be reached now (a lost connection, a restart): worth retrying.
    case unavailable(String)
    case constraint(String)
    case corrupt(String)
    case anchorMismatch(stored: String, given: String)
    case logKeyMismatch(String)
    /// A replica's release lease expired while it built: another may be building.
    case leaseLost(String)

    public var code: String {
        switch self {
        case .database: return "server.database"
        case .unavailable: return "server.database_unavailable"
        case .constraint: return "server.constraint"
        case .corrupt: return "server.corrupt"
        case .anchorMismatch: return "server.anchor_mismatch"
        case .logKeyMismatch: return "server.log_key_mismatch"
        case .leaseLost: return "server.release_lease_lost"
        }
    }

    public var message: String {
        switch self {
        case let .database(m): return "database error: \(m)"
        case let .unavailable(m): return "the database is unavailable, try again shortly: \(m)"
        case let .constraint(m): return "database constraint: \(m)"
        case let .corrupt(m): return "stored state is corrupt, refusing to continue: \(m)"
        case let .logKeyMismatch(why): return "refusing to start: \(why)"
        case let .leaseLost(holder): return "replica \(holder) no longer holds the release lease; the release it built is not published"
        case let .anchorMismatch(stored, given): return "this data directory belongs to anchor \(stored.prefix(16))…, not \(given.prefix(16))…"
        }
    }
}
