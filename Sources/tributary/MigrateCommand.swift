import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryCore
import TributaryServer

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Move a stopped server's SQLite metadata to PostgreSQL, log, checkpoints and releases intact.",
        discussion: """
        Copies every table of DIR/tributary.sqlite into the empty database --database names, in one \
        transaction, then opens the copy as a server would (its log checked against its signed \
        checkpoints) and compares it with the source: the same latest checkpoint, the same rows. The \
        blobs and releases stay in DIR: start the replicas with --store DIR (or a copy of DIR/blobs and \
        DIR/releases) and a copy of DIR/log.key. The SQLite file is left as it was.
        """)

    @Option(name: .customLong("dir"), help: "The data directory of the stopped server.") var directory: String
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            guard let target = try database.location() else { throw ValidationError("give --database postgres://USER@HOST:PORT/DATABASE") }
            let sqlite = directory + "/tributary.sqlite"
            guard FileManager.default.fileExists(atPath: sqlite) else {
                throw TributaryError("server.invalid_config", "\(sqlite) does not exist: --dir must be a server's data directory")
            }
            var bytes = try readSecretFile(directory + "/log.key")
            defer { secureZero(&bytes) }
            let key = try SigningKey.parse(privateKey: String(decoding: bytes, as: UTF8.self))
            let started = Date()
            let report = try DatabaseCopy.copy(from: .sqlite(path: sqlite), to: target, logKey: key) { print("copied \($0)") }
            print(String(format: "migrated %@ to %@ in %.1f s: the log (%llu entries) ends on the same signed checkpoint in both",
                         sqlite, target.description, Date().timeIntervalSince(started), report.checkpointSize))
        }
    }
}
