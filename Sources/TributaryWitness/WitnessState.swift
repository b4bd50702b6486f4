import Foundation
import TributaryCore
import TributaryLog

/// What a witness must never forget: for each log, the latest checkpoint it cosigned. One file per
/// log (`logs/<sha256(origin)>`, the checkpoint text), replaced atomically and fsync'd before the
/// cosignature leaves, so a SIGKILL at any moment leaves the old checkpoint or the new one.
///
/// `witness.json` names the key the state belongs to. A witness refuses to start without it: a
/// witness whose state was lost would cosign whatever it is shown next — a fork included — so a
/// new state is made only on purpose (`tributary witness init`), and then under a new key.
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
            throw WitnessError.stateLost("\(directory) holds no witness state (\(identityFile) is missing): if this witness ran before, its state is lost and it must not cosign again under this key; a new witness starts with `tributary witness init`")
        }
        let json = try StrictJSONParser.parse(try readSmallFile(path, limit: 4096))
        guard case let .string(stored)? = json["cosignerKey"], stored == key.encoded else {
            throw WitnessError.stateLost("\(directory) is the state of another witness key, not \(key.encoded)")
        }
        guard FileManager.default.fileExists(atPath: directory + "/logs") else {
            throw WitnessError.stateLost("\(directory)/logs is missing: this witness's state is lost")
        }
        return WitnessState(directory: directory, key: key)
    }

    func file(_ origin: String) -> String { directory + "/logs/" + Hex.encode(SHA256.digest(Array(origin.utf8))) }

    /// The latest cosigned checkpoint of `origin`, if any.
    public func latest(_ origin: String) throws -> Checkpoint? {
        let path = file(origin)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = String(decoding: try readSmallFile(path, limit: SignedNote.maxSize), as: UTF8.self)
        let cp = try Checkpoint.parse(text: text)
        guard cp.origin == origin else { throw WitnessError.stateLost("\(path) holds a checkpoint of \(cp.origin), not \(origin)") }
        return cp
    }

    /// Durable before it returns.
    func record(_ checkpoint: Checkpoint) throws {
        try AtomicFileWriter.write(Array(checkpoint.text.utf8), to: file(checkpoint.origin))
    }
}
