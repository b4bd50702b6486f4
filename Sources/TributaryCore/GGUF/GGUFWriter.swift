import Foundation

/// Writes a GGUF v3 file (ggml's `docs/gguf.md`), the layout `GGUFFile` reads:
///
///     "GGUF" | version 3 | tensor_count u64 | kv_count u64 | kv_count × (key, type u32, value)
///     tensor_count × (name, n_dims u32, dims u64 × n (ggml order: dims[0] contiguous), type u32, offset u64)
///     zero padding to `alignment` | each tensor's data at its offset, padded to `alignment`
///
/// Tensors are added with a closure giving their F32 values in PyTorch (row-major) order; they are
/// produced, encoded and written one at a time, so a release of several GB never sits in memory whole.
/// The file is written through `AtomicFileWriter`: a failure leaves nothing at `path`.
public struct GGUFWriter {
    public static let alignment = 32
    struct PendingTensor {
        let name: String
        let shape: [Int]
        let type: GGMLType
        let values: () throws -> [Float]
        var byteCount: Int
    }

    private var metadata: [(key: String, value: GGUFFile.Value)] = []
    private var tensors: [PendingTensor] = []

    public init() {}

    public var tensorCount: Int { tensors.count }

    public mutating func add(_ key: String, _ value: GGUFFile.Value) { metadata.append((key, value)) }

    /// `shape` in PyTorch order (last dimension contiguous); `type` F32, F16 or Q8_0 (Q8_0 needs the
    /// last dimension to be a multiple of 32).
    public mutating func addTensor(_ name: String, shape: [Int], type: GGMLType, values: @escaping () throws -> [Float]) throws {
        guard [.f32, .f16, .q8_0].contains(type) else { throw GGUFError.malformed("tensor \(name): writing \(type.name) is not supported (F32, F16, Q8_0)") }
        guard !shape.isEmpty, shape.count <= GGUFFile.maxDims, shape.allSatisfy({ $0 > 0 }) else {
            throw GGUFError.malformed("tensor \(name): shape \(shape) is not 1 to \(GGUFFile.maxDims) positive dimensions")
        }
        let elements = shape.reduce(1, *)
        guard let bytes = type.byteCount(elements: elements, rowLength: shape.last!) else {
            throw GGUFError.malformed("tensor \(name): rows of \(shape.last!) values are not whole \(type.name) blocks of \(type.geometry.blockSize)")
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw GGUFError.malformed("tensor \(name) added twice") }
        tensors.append(PendingTensor(name: name, shape: shape, type: type, values: values, byteCount: bytes))
    }

    /// Writes the file; `progress` is called after each tensor with (tensors written, total).
    public func write(to path: String, progress: (Int, Int) -> Void = { _, _ in }) throws {
        var header = Array("GGUF".utf8)
        Self.put(UInt32(3), &header)
        Self.put(UInt64(tensors.count), &header)
        Self.put(UInt64(metadata.count), &header)
        for (key, value) in metadata {
            Self.put(key, &header)
            Self.put(UInt32(Self.typeCode(value)), &header)
            try Self.put(value, &header, what: key)
        }
        var offset = 0
        for t in tensors {
            Self.put(t.name, &header)
            Self.put(UInt32(t.shape.count), &header)
            for d in t.shape.reversed() { Self.put(UInt64(d), &header) }
            Self.put(t.type.rawValue, &header)
            Self.put(UInt64(offset), &header)
            offset = Self.padded(offset + t.byteCount)
        }
        header += [UInt8](repeating: 0, count: Self.padded(header.count) - header.count)
        let out = try AtomicFileWriter(path: path)
        try out.write(header)
        for (i, t) in tensors.enumerated() {
            let values = try t.values()
            guard values.count == t.shape.reduce(1, *) else {
                throw GGUFError.malformed("tensor \(t.name): \(values.count) values for shape \(t.shape)")
            }
            guard values.allSatisfy(\.isFinite) else { throw GGUFError.malformed("tensor \(t.name) holds a value that is not finite") }
            var data = GGMLQuantize.encode(values, as: t.type)
            data += [UInt8](repeating: 0, count: Self.padded(data.count) - data.count)
            try out.write(data)
            progress(i + 1, tensors.count)
        }
        try out.commit()
    }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func put(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), &out)
        out.append(contentsOf: s.utf8)
    }

    static func typeCode(_ v: GGUFFile.Value) -> Int {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func put(_ v: GGUFFile.Value, _ out: inout [UInt8], what: String) throws {
        switch v {
        case let .uint8(x): put(x, &out)
        case let .int8(x): put(x, &out)
        case let .uint16(x): put(x, &out)
        case let .int16(x): put(x, &out)
        case let .uint32(x): put(x, &out)
        case let .int32(x): put(x, &out)
        case let .float32(x): put(x.bitPattern, &out)
        case let .bool(x): out.append(x ? 1 : 0)
        case let .string(s): put(s, &out)
        case let .uint64(x): put(x, &out)
        case let .int64(x): put(x, &out)
        case let .float64(x): put(x.bitPattern, &out)
        case let .array(items):
            // GGUF arrays are homogeneous: one element type, then the count.
            let code = items.first.map(typeCode) ?? 0
            guard items.allSatisfy({ typeCode($0) == code }) else { throw GGUFError.malformed("metadata \(what): an array mixes value types") }
            put(UInt32(code), &out)
            put(UInt64(items.count), &out)
            for item in items { try put(item, &out, what: what) }
        }
    }
}

/// Encoding F32 values as ggml stores them, bit for bit as ggml's reference code and the `gguf`
/// Python package do: F16 rounds to nearest even; Q8_0 takes blocks of 32 values, d = max|x| / 127
/// (stored as F16), q = round-half-away-from-zero(x · (1/d)) as int8, each product a separate F32
/// operation (`quantize_row_q8_0_ref`, `gguf.quants.Q8_0`).
public enum GGMLQuantize {
    public static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        switch type {
        case .f16:
            var out = [UInt8]()
            out.reserveCapacity(values.count * 2)
            for v in values { GGUFWriter.put(Float16(v).bitPattern, &out) }
            return out
        case .q8_0: return q8_0(values)
        default:
            var out = [UInt8]()
            out.reserveCapacity(values.count * 4)
            for v in values { GGUFWriter.put(v.bitPattern, &out) }
            return out
        }
    }

    public static func q8_0(_ values: [Float]) -> [UInt8] {
        precondition(values.count % 32 == 0, "Q8_0 needs whole blocks of 32 values")
        var out = [UInt8](repeating: 0, count: values.count / 32 * 34)
        for b in 0..<values.count / 32 {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(values[b * 32 + j])) }
            let d = amax / 127
            let id: Float = d == 0 ? 0 : 1 / d
            let h = Float16(d).bitPattern
            out[b * 34] = UInt8(h & 0xff)
            out[b * 34 + 1] = UInt8(h >> 8)
            for j in 0..<32 {
                let x = values[b * 32 + j] * id
                out[b * 34 + 2 + j] = UInt8(bitPattern: Int8(x.rounded(.toNearestOrAwayFromZero)))
            }
        }
        return out
    }
}
