import Foundation
import TributaryCore

/// Feeds arbitrary bytes, in arbitrary chunks, to the streaming bundle archive reader the server uses
/// for uploads. Whatever happens, nothing may be written outside the staging directory.
let root = NSTemporaryDirectory() + "tributary-fuzz-archive-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundleArchive(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let stage = root + "/stage"
    try? FileManager.default.removeItem(atPath: root)
    try! FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: true)
    let reader = BundleArchiveReader(directory: stage, limit: 1 << 20)
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // The first byte picks a chunk size, so boundaries land everywhere.
    let chunk = size > 0 ? Int(bytes[0]) % 97 + 1 : 1
    var i = 0
    do {
        while i < size {
            try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[i..<min(size, i + chunk)]))
            i += chunk
        }
        try reader.finish()
    } catch {}
    let outside = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    precondition(outside == ["stage"], "the reader wrote outside its staging directory: \(outside)")
    for name in (try? FileManager.default.contentsOfDirectory(atPath: stage)) ?? [] {
        precondition(BundleLayout.allFiles.contains(name), "the reader created \(name)")
    }
    return 0
}
