import Foundation
import TributaryCore
import TributaryLog

/// What a witness must never forget: for each log, the latest checkpoint it cosigned. One file per
/// log (`logs/<sha256(origin)>`, the checkpoint text), replaced atomically and fsync'd before the
/// cosignature leaves, so a SIGKILL at any moment leaves the old checkpoint or the new one.
///
/// `witness.json` names the key the state belongs to. A witness refuses to start without it: a
/// witness whose state was lost would cosign whatever it is shown next — a fork included — so a
/// new state is made only on purpose (`tributary witness serve --init`), and then under a new key.
/// `logs.json` lists every log the witness has cosigned: one log's file gone is caught as well.
public struct WitnessState: Sendable {
    public let directory: String
    public let key: CosignerKey

    static let identityFile = "witness.json"

    /// Creates the state of a new witness; refuses a directory that holds one already.
    public static func initialise(_ directory: String, key: CosignerKey) throws -> WitnessState {
        if FileManager.default.fileExists(atPath: directory + "/" + identityFile) {
            throw WitnessError.stateLost("\(directory) already holds a witness's state; a witness is initialised once")
        }
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        try AtomicFileWriter.write(Array(JSONWriter.string(.object([("cosignerKey", .string(key.encoded))])).utf8), to: directory + "/" + identityFile)
        return WitnessState(directory: directory, key: key)
    }

    /// Opens the state of the witness with `key`.
    public static func open(_ directory: String, key: CosignerKey) throws -> WitnessState {
        let path = directory + "/" + identityFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw WitnessError.stateLost("\(directory) holds no witness state (\(identityFile) is missing): if this witness ran before, its state is lost and it must not cosign again under this key; a new witness starts with `tributary witness serve --init` (under a new key)")
        }
        let json = try StrictJSONParser.parse(try readSmallFile(path, limit: 4096))
        guard case let .string(stored)? = json["cosignerKey"], stored == key.encoded else {
            throw WitnessError.stateLost("\(directory) is the state of another witness key, not \(key.encoded)")
        }
        guard FileManager.default.fileExists(atPath: directory + "/logs") else {
            throw WitnessError.stateLost("\(directory)/logs is missing: this witness's state is lost")
        }
        let state = WitnessState(directory: directory, key: key)
        for origin in try state.cosignedLogs() where !FileManager.default.fileExists(atPath: state.file(origin)) {
            throw WitnessError.stateLost("the state of \(origin), which this witness cosigned, is missing from \(directory)/logs")
        }
        return state
    }

    var indexFile: String { directory + "/logs.json" }

    /// Every origin this witness has cosigned a checkpoint of.
    func cosignedLogs() throws -> [String] {
        guard FileManager.default.fileExists(atPath: indexFile) else { return [] }
        guard case let .array(items)? = try StrictJSONParser.parse(try readSmallFile(indexFile, limit: 1 << 20))["logs"] else {
            throw WitnessError.stateLost("\(indexFile) is not this witness's list of logs")
        }
        return items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
    }

    func file(_ origin: String) -> String { directory + "/logs/" + Hex.encode(SHA256.digest(Array(origin.utf8))) }

    /// The latest cosigned checkpoint of `origin`, if any.
    public func latest(_ origin: String) throws -> Checkpoint? {
        let path = file(origin)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = String(decoding: try readSmallFile(path, limit: SignedNote.maxSize), as: UTF8.self)
        let cp = try Checkpoint.parse(text: text)
        guard cp.origin.sameBytes(origin) else { throw WitnessError.stateLost("\(path) holds a checkpoint of \(cp.origin), not \(origin)") }
        return cp
    }

    /// Durable before it returns; a log seen for the first time enters `logs.json` first.
    func record(_ checkpoint: Checkpoint) throws {
        let logs = try cosignedLogs()
        if !logs.contains(where: { $0.sameBytes(checkpoint.origin) }) {
            try AtomicFileWriter.write(Array(JSONWriter.string(.object([("logs", .array((logs + [checkpoint.origin]).map { .string($0) }))])).utf8), to: indexFile)
        }
        try AtomicFileWriter.write(Array(checkpoint.text.utf8), to: file(checkpoint.origin))
    }
}
