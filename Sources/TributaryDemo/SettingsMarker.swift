import Foundation
import TributaryCore

/// What a cached directory was made with, in a file beside its contents: the demo reuses the
/// directory (its anchor, an owner's expert) only while the settings that would make it again are
/// byte for byte the same. Written last, so a directory cut off while being made has no marker.
struct SettingsMarker {
    let path: String

    /// The settings match and, with `maxAge`, were written less than that many seconds ago.
    func matches(_ settings: String, maxAge: TimeInterval? = nil) -> Bool {
        guard let stored = try? readSmallFile(path, limit: 1 << 20), String(decoding: stored, as: UTF8.self) == settings else { return false }
        guard let maxAge else { return true }
        guard let made = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return false }
        return Date().timeIntervalSince(made) < maxAge
    }

    func write(_ settings: String) throws { try AtomicFileWriter.write(Array(settings.utf8), to: path) }
}
