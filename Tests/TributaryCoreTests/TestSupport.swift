import Foundation
import TributaryCore
@_exported import TributaryTestSupport

/// Every file under `dir` with its size and SHA-256, to prove an operation changed nothing.
func snapshot(_ dir: String) -> [String: String] {
    var out = [String: String]()
    let fm = FileManager.default
    guard let e = fm.enumerator(atPath: dir) else { return out }
    while let rel = e.nextObject() as? String {
        let p = dir + "/" + rel
        var st = stat()
        guard lstat(p, &st) == 0 else { continue }
        if (st.st_mode & S_IFMT) == S_IFREG {
            out[rel] = "\(st.st_size):" + Hex.encode(SHA256.digest(fm.contents(atPath: p) ?? Data()))
        } else if (st.st_mode & S_IFMT) == S_IFLNK {
            out[rel] = "link:" + ((try? fm.destinationOfSymbolicLink(atPath: p)) ?? "")
        } else {
            out[rel] = "dir"
        }
    }
    return out
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Builds a raw safetensors file from a header JSON string and a data buffer.
func rawSafetensors(header: String, data: [UInt8] = [], claimedLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = claimedLength ?? UInt64(h.count)
    var out = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    out += h
    out += data
    return out
}
