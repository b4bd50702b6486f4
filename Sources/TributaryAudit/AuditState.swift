import Foundation
import TributaryCore
import TributaryLog

/// What an auditor remembers between runs (in its state directory): the last checkpoint it verified
/// and a copy of every entry up to it, so a later run notices a rolled-back or forked log and only
/// fetches what is new.
struct AuditState {
    let directory: String
    var size: UInt64 = 0
    var root: [UInt8] = MerkleHash.emptyRoot
    var note = ""
    var entries: [[UInt8]] = []

    static func load(_ directory: String) throws -> AuditState? {
        let path = directory + "/state.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let json = try StrictJSONParser.parse(try readSmallFile(path, limit: 1 << 20))
        guard case let .number(s)? = json["size"], let size = UInt64(s), case let .string(r)? = json["root"], let root = Base64.decodeStandard(r),
              case let .string(note)? = json["checkpoint"] else {
            throw AuditFailure.source("\(path) is not an audit state file")
        }
        let entries = try ExportedLogSource.readEntries(directory + "/entries")
        guard UInt64(entries.count) == size else { throw AuditFailure.source("\(directory) holds \(entries.count) entries for a checkpoint of size \(size)") }
        return AuditState(directory: directory, size: size, root: root, note: note, entries: entries)
    }

    func save() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFileWriter.write(ExportedLogSource.encodeEntries(entries), to: directory + "/entries")
        let json = JSONValue.object([("size", .uint64(size)), ("root", .string(Base64.encode(root))), ("checkpoint", .string(note))])
        try AtomicFileWriter.write(JSONWriter.serialize(json) + [0x0a], to: directory + "/state.json")
    }
}
