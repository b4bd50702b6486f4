import TributaryCore

/// Feeds arbitrary bytes to the safetensors header parser as if they were a whole file.
/// Any outcome but a crash, a hang or a sanitizer report is fine: errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensorsHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    if let header = try? SafetensorsHeader.parse(prefix: buffer, fileSize: UInt64(size)) {
        // A header that parses must describe tensors that lie inside the buffer.
        for t in header.tensors {
            precondition(header.dataStart + t.end <= UInt64(size), "tensor \(t.name) outside the file")
            precondition(UInt64(t.elementCount * t.dtype.byteSize) == t.byteCount, "size mismatch for \(t.name)")
        }
    }
    return 0
}
