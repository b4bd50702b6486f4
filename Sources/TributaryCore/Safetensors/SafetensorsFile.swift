import Foundation

/// A safetensors file opened read-only through mmap: opening costs one header parse, and tensor bytes
/// are paged in from the file as they are read, never copied whole into memory.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let header: SafetensorsHeader
    public let fileSize: UInt64
    private let file: MappedFile

    public var tensors: [TensorInfo] { header.tensors }
    public var metadata: [String: String] { header.metadata }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        fileSize = UInt64(file.size)
        guard fileSize >= 8 else {
            throw SafetensorsError.truncated("\(fileSize) bytes is too short for the 8-byte header length")
        }
        header = try SafetensorsHeader.parse(prefix: file.bytes, fileSize: fileSize)
    }

    /// The tensor's bytes inside the mapping; valid while this object lives.
    public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        let start = Int(header.dataStart + info.begin)
        return UnsafeRawBufferPointer(start: file.bytes.baseAddress! + start, count: Int(info.byteCount))
    }

    public func info(_ name: String) throws -> TensorInfo { try header.tensor(named: name) }

    /// Converts a F32, F16 or BF16 tensor to Float into `out` (which must hold `elementCount` values).
    public func readFloats(_ info: TensorInfo, into out: UnsafeMutablePointer<Float>) throws {
        let raw = rawBytes(info)
        let n = info.elementCount
        switch info.dtype {
        case .F32:
            // Little-endian on every platform we build for; the mapping may be unaligned for Float.
            memcpy(out, raw.baseAddress!, n * 4)
        case .F16:
            for i in 0..<n { out[i] = HalfConversion.f16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .BF16:
            for i in 0..<n { out[i] = HalfConversion.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        default:
            throw SafetensorsError.unsupportedDType(tensor: info.name, dtype: info.dtype.rawValue)
        }
    }

    /// An I32 tensor's values.
    public func int32s(_ name: String) throws -> [Int32] {
        let info = try header.tensor(named: name)
        guard info.dtype == .I32 else { throw SafetensorsError.unsupportedDType(tensor: name, dtype: info.dtype.rawValue) }
        let raw = rawBytes(info)
        return (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
    }

    public func floats(_ name: String) throws -> [Float] {
        let info = try header.tensor(named: name)
        return try floats(info)
    }

    public func floats(_ info: TensorInfo) throws -> [Float] {
        guard [.F32, .F16, .BF16].contains(info.dtype) else {
            throw SafetensorsError.unsupportedDType(tensor: info.name, dtype: info.dtype.rawValue)
        }
        var out = [Float](repeating: 0, count: info.elementCount)
        try out.withUnsafeMutableBufferPointer { buf in
            if let p = buf.baseAddress { try readFloats(info, into: p) }
        }
        return out
    }
}
