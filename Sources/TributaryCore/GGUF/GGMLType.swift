/// ggml tensor types (ggml.h `enum ggml_type`) with their block geometry: `blockSize` values are
/// stored in `blockBytes` bytes. Only types whose geometry is listed can be located in a file.
public enum GGMLType: UInt32, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        default: return String(describing: self).uppercased()
        }
    }

    /// (values per block, bytes per block).
    public var geometry: (blockSize: Int, blockBytes: Int) {
        switch self {
        case .f32, .i32: return (1, 4)
        case .f16, .bf16, .i16: return (1, 2)
        case .i8: return (1, 1)
        case .i64, .f64: return (1, 8)
        case .q4_0: return (32, 18)
        case .q4_1: return (32, 20)
        case .q5_0: return (32, 22)
        case .q5_1: return (32, 24)
        case .q8_0: return (32, 34)
        case .q8_1: return (32, 36)
        case .q2_k: return (256, 84)
        case .q3_k: return (256, 110)
        case .q4_k: return (256, 144)
        case .q5_k: return (256, 176)
        case .q6_k: return (256, 210)
        case .q8_k: return (256, 292)
        }
    }

    /// Bytes of `elements` values whose rows hold `rowLength` values (blocks never straddle rows);
    /// nil when a row is not a whole number of blocks.
    public func byteCount(elements: Int, rowLength: Int) -> Int? {
        let (b, bytes) = geometry
        guard rowLength % b == 0, elements % b == 0 else { return nil }
        let (n, o) = (elements / b).multipliedReportingOverflow(by: bytes)
        return o ? nil : n
    }
}

/// Dequantisation as ggml (and the `gguf` Python package) defines it, one block at a time. Every
/// product and sum is a separate float32 operation (no fused multiply-add), matching
/// `gguf.quants.dequantize` bit for bit.
public enum GGMLDequantize {
    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ at: Int) -> Float {
        HalfConversion.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
    }

    public static func f16(_ src: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { out[i] = f16(src, 2 * i) }
    }

    public static func bf16(_ src: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { out[i] = HalfConversion.bf16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    }

    /// Q8_0: f16 d, then 32 × int8 q; x = d · q.
    public static func q8_0(_ src: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + b * 34, o = out + b * 32
            let d = f16(p, 0)
            for j in 0..<32 { o[j] = d * Float(Int8(bitPattern: p.load(fromByteOffset: 2 + j, as: UInt8.self))) }
        }
    }

    /// Q4_0: f16 d, then 16 bytes of nibbles; x[j] = d · (lo − 8), x[j+16] = d · (hi − 8).
    public static func q4_0(_ src: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + b * 18, o = out + b * 32
            let d = f16(p, 0)
            for j in 0..<16 {
                let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                o[j] = d * Float(Int(q & 15) - 8)
                o[j + 16] = d * Float(Int(q >> 4) - 8)
            }
        }
    }

    /// Q4_1: f16 d, f16 m, then 16 bytes of nibbles; x[j] = d · lo + m, x[j+16] = d · hi + m.
    public static func q4_1(_ src: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for b in 0..<blocks {
            let p = src + b * 20, o = out + b * 32
            let d = f16(p, 0), m = f16(p, 2)
            for j in 0..<16 {
                let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                let lo = d * Float(q & 15), hi = d * Float(q >> 4)
                o[j] = lo + m
                o[j + 16] = hi + m
            }
        }
    }
}
