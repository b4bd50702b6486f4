import ArgumentParser
import Foundation
import TributaryCore
import TributaryServer

/// `--database` and its password: where the server's metadata lives when it is not the data
/// directory's SQLite file.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Metadata database: postgres://USER@HOST:PORT/DATABASE[?sslmode=require] (default: DIR/tributary.sqlite). The password comes from --database-password-file or PGPASSWORD, never from the URL.")
    var database: String?
    @Option(help: "A file whose first line is the database password.") var databasePasswordFile: String?
    @Option(help: "Seconds a write waits for the database's write lock before the request gets 503.") var databaseLockTimeout = 5.0
    @Option(help: "Seconds any database statement may run before it is cancelled (503).") var databaseStatementTimeout = 30.0

    /// nil: the data directory's SQLite file.
    func location() throws -> DatabaseLocation? {
        guard let database else {
            if databasePasswordFile != nil { throw TributaryError("server.invalid_config", "--database-password-file needs --database") }
            return nil
        }
        var location = try PostgresLocation.parse(database, passwordFile: databasePasswordFile)
        location.lockTimeoutSeconds = databaseLockTimeout
        location.statementTimeoutSeconds = databaseStatementTimeout
        try location.validate()
        return .postgres(location)
    }
}

/// The default replica name: this host and the data directory, so each replica keeps its name
/// across restarts and two on one host differ.
func defaultReplicaName(directory: String) -> String {
    let host = ProcessInfo.processInfo.hostName.map { c -> Character in
        c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == ".") ? c : "-"
    }
    let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
    let tag = Hex.encode(Array(SHA256.digest(Array(absolute.utf8)).prefix(4)))
    return String(String(host).prefix(55)) + "-" + tag
}
