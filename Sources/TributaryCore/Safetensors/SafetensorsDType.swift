/// The dtypes the safetensors format defines. Any of them passes validation; F32, F16 and BF16 can be
/// read as Float, F32 and BF16 can be written.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }
}

/// Bit-exact conversions between Float and the 16-bit float formats.
public enum HalfConversion {
    /// IEEE binary16 to Float, exact for every input including subnormals, infinities and NaN.
    @inline(__always)
    public static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1f)
        let frac = UInt32(h & 0x03ff)
        if exp == 0 {
            if frac == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = frac * 2^-24.
            let v = Float(frac) * Float(bitPattern: 0x3380_0000)  // 2^-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (frac << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
    }

    @inline(__always)
    public static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Float to bfloat16 with round-to-nearest-even, as PyTorch does; NaN stays a (quiet) NaN.
    @inline(__always)
    public static func floatToBF16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding: UInt32 = 0x7fff + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
