import Foundation

/// What the metadata store needs of a SQL database, implemented by SQLite (the embedded default)
/// and PostgreSQL (a database several replicas share). Synchronous on purpose: `MetadataStore`, an
/// actor, owns one connection and runs each state change as one call, so no other call of the same
/// process interleaves with a transaction (an `await` inside one would let it).
///
/// SQL is written once, with `?` placeholders, in the subset both dialects read; the schema's DDL
/// is the one place where they differ (`Schema`).
protocol SQLDatabase: AnyObject {
    var dialect: SQLDialect { get }
    /// Where it is, for messages (never a password).
    var location: String { get }
    /// Statements without parameters (DDL, PRAGMAs).
    func execute(_ sql: String) throws
    func run(_ sql: String, _ values: [SQLValue]) throws
    /// All rows mapped by `row`.
    func query<T>(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> T) throws -> [T]
    /// Calls `row` for every row without holding all of them (large scans).
    func each(_ sql: String, _ values: [SQLValue], _ row: (any SQLRow) throws -> Void) throws
    /// Runs `body` as one transaction that holds the database's write lock from its first statement:
    /// every other transaction, of this process or another, waits for it; all of it commits or none.
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// Runs `body` on one consistent, read-only view of the database, without the write lock:
    /// writers go on, and `body` sees none of their commits.
    func snapshot<T>(_ body: () throws -> T) throws -> T
    func tableExists(_ name: String) throws -> Bool
}

extension SQLDatabase {
    func run(_ sql: String) throws { try run(sql, []) }

    func first<T>(_ sql: String, _ values: [SQLValue] = [], _ row: (any SQLRow) throws -> T) throws -> T? {
        try query(sql, values, row).first
    }

    /// The log's size as the database holds it: one more than the last entry's index (entries are
    /// dense from 0, which the integrity scan checks).
    func storedLogSize() throws -> UInt64 {
        UInt64(try first("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", [], { $0.int(0) }) ?? 0)
    }
}

enum SQLDialect: String, Sendable {
    case sqlite, postgres
}

/// One row's columns, by position.
protocol SQLRow {
    func int(_ col: Int32) -> Int64
    func double(_ col: Int32) -> Double
    func isNull(_ col: Int32) -> Bool
    func text(_ col: Int32) -> String
    func blob(_ col: Int32) -> [UInt8]
}

enum SQLValue: Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// A row already decoded into values (PostgreSQL's rows; copies between databases).
struct DecodedRow: SQLRow {
    let values: [SQLValue]

    func int(_ col: Int32) -> Int64 {
        switch values[Int(col)] {
        case let .int(x): return x
        case let .double(x): return Int64(exactly: x.rounded(.towardZero)) ?? 0
        default: return 0
        }
    }

    func double(_ col: Int32) -> Double {
        switch values[Int(col)] {
        case let .double(x): return x
        case let .int(x): return Double(x)
        default: return 0
        }
    }

    func isNull(_ col: Int32) -> Bool { values[Int(col)] == .null }

    func text(_ col: Int32) -> String {
        if case let .text(s) = values[Int(col)] { return s }
        return ""
    }

    func blob(_ col: Int32) -> [UInt8] {
        if case let .blob(b) = values[Int(col)] { return b }
        return []
    }
}

/// Opens the database a location names.
enum SQLDatabases {
    static func open(_ location: DatabaseLocation) throws -> any SQLDatabase {
        switch location {
        case let .sqlite(path): return try SQLiteDatabase(path: path)
        case let .postgres(p): return try PostgresDatabase(p)
        }
    }
}
