import Foundation

/// A GGUF file (ggml's model format, versions 2 and 3), opened read-only through mmap: the header,
/// every metadata value, the tensor table and dequantised tensor data. Everything read from the file
/// is bounds- and overflow-checked before use; a hostile file gets a `GGUFError`, never a trap.
///
///     magic "GGUF" | version u32 | tensor_count u64 | kv_count u64
///     kv_count × (key: string, type: u32, value)        string = u64 length + UTF-8 bytes
///     tensor_count × (name: string, n_dims u32, dims u64[n_dims], type u32, offset u64)
///     padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
public final class GGUFFile: @unchecked Sendable {
    public indirect enum Value: Equatable, Sendable {
        case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32), float32(Float)
        case bool(Bool), string(String), array([Value]), uint64(UInt64), int64(Int64), float64(Double)

        /// An integer of any width, when it fits.
        public var int: Int? {
            switch self {
            case let .uint8(v): return Int(v)
            case let .int8(v): return Int(v)
            case let .uint16(v): return Int(v)
            case let .int16(v): return Int(v)
            case let .uint32(v): return Int(v)
            case let .int32(v): return Int(v)
            case let .uint64(v): return Int(exactly: v)
            case let .int64(v): return Int(exactly: v)
            default: return nil
            }
        }
        public var float: Double? {
            switch self {
            case let .float32(v): return Double(v)
            case let .float64(v): return v
            default: return int.map(Double.init)
            }
        }
        public var string: String? { if case let .string(s) = self { return s } else { return nil } }
        public var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
        public var array: [Value]? { if case let .array(a) = self { return a } else { return nil } }
    }

    public struct Tensor: Sendable, Equatable {
        public let name: String
        /// ggml order: `dims[0]` is the contiguous one (PyTorch's last).
        public let dims: [Int]
        public let type: GGMLType
        /// Absolute offset in the file.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dims.reduce(1, *) }
        /// The PyTorch shape: dims reversed.
        public var shape: [Int] { dims.reversed() }
    }

    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: Value)]
    public let tensors: [Tensor]
    public let alignment: Int
    private let file: MappedFile
    private let base: UnsafeRawPointer
    private let size: Int

    /// Limits that keep a hostile header from asking for absurd allocations.
    static let maxStringBytes = 1 << 24, maxArrayCount = 1 << 24, maxEntries = 1 << 20, maxDims = 4

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        size = file.size
        guard size >= 24 else { throw size >= 4 && Array(file.bytes.prefix(4)) == Array("GGUF".utf8) ? GGUFError.truncated("the header") : GGUFError.notGGUF }
        base = file.bytes.baseAddress!
        var r = Reader(base: base, size: size)
        guard try r.bytes(4) == Array("GGUF".utf8) else { throw GGUFError.notGGUF }
        version = try r.u32("the version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try r.count("the tensor count", max: Self.maxEntries)
        let kvCount = try r.count("the metadata count", max: Self.maxEntries)
        var meta = [(key: String, value: Value)]()
        for _ in 0..<kvCount {
            let key = try r.string("a metadata key")
            let type = try r.u32("the type of \(key)")
            meta.append((key, try r.value(type: type, what: key, depth: 0)))
        }
        metadata = meta
        var align = 32
        if let a = meta.first(where: { $0.key == "general.alignment" })?.value {
            guard let n = a.int, n > 0, n <= 1 << 16, n & (n - 1) == 0 else { throw GGUFError.malformed("general.alignment must be a power of two") }
            align = n
        }
        alignment = align
        var infos = [(name: String, dims: [Int], type: UInt32, offset: UInt64)]()
        for _ in 0..<tensorCount {
            let name = try r.string("a tensor name")
            let nDims = Int(try r.u32("the dimension count of \(name)"))
            guard nDims <= Self.maxDims else { throw GGUFError.malformed("tensor \(name) has \(nDims) dimensions, more than \(Self.maxDims)") }
            var dims = [Int]()
            for _ in 0..<nDims { dims.append(try r.count("a dimension of \(name)", max: 1 << 40)) }
            infos.append((name, dims, try r.u32("the type of \(name)"), try r.u64("the offset of \(name)")))
        }
        // The data section starts at the next multiple of the alignment.
        let (padded, o) = r.offset.addingReportingOverflow(align - 1)
        guard !o else { throw GGUFError.malformed("header size") }
        let dataStart = padded / align * align
        var seen = Set<String>()
        var out = [Tensor]()
        for info in infos {
            guard seen.insert(info.name).inserted else { throw GGUFError.malformed("tensor \(info.name) appears twice") }
            guard let type = GGMLType(rawValue: info.type) else { throw GGUFError.unknownType(tensor: info.name, type: info.type) }
            var elements = 1
            for d in info.dims {
                let (p, ov) = elements.multipliedReportingOverflow(by: d)
                guard !ov else { throw GGUFError.malformed("tensor \(info.name)'s size overflows") }
                elements = p
            }
            guard let bytes = type.byteCount(elements: elements, rowLength: info.dims.first ?? 1) else {
                throw GGUFError.malformed("tensor \(info.name): \(info.dims.first ?? 0) values per row is not a whole number of \(type.name) blocks")
            }
            guard info.offset % UInt64(align) == 0, let rel = Int(exactly: info.offset) else {
                throw GGUFError.malformed("tensor \(info.name)'s offset \(info.offset) is not aligned to \(align)")
            }
            let (start, o1) = dataStart.addingReportingOverflow(rel)
            let (end, o2) = start.addingReportingOverflow(bytes)
            guard !o1, !o2, end <= size else { throw GGUFError.truncated("the data of tensor \(info.name)") }
            out.append(Tensor(name: info.name, dims: info.dims, type: type, offset: start, byteCount: bytes))
        }
        tensors = out
    }

    public subscript(key: String) -> Value? { metadata.first { $0.key == key }?.value }

    public func require(_ key: String) throws -> Value {
        guard let v = self[key] else { throw GGUFError.missingKey(key) }
        return v
    }

    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// The tensor's values as Float, in row-major PyTorch order ([dims[1]][dims[0]] for a matrix).
    public func floats(_ t: Tensor) throws -> [Float] {
        guard t.elementCount > 0 else { return [] }
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { try dequantize(t, into: $0.baseAddress!) }
        return out
    }

    /// Dequantises into `out` (elementCount floats).
    public func dequantize(_ t: Tensor, into out: UnsafeMutablePointer<Float>) throws {
        let src = base + t.offset
        switch t.type {
        case .f32: out.update(from: src.assumingMemoryBound(to: Float.self), count: t.elementCount)  // little-endian host
        case .f16: GGMLDequantize.f16(src, out, t.elementCount)
        case .bf16: GGMLDequantize.bf16(src, out, t.elementCount)
        case .q8_0: GGMLDequantize.q8_0(src, out, t.elementCount / 32)
        case .q4_0: GGMLDequantize.q4_0(src, out, t.elementCount / 32)
        case .q4_1: GGMLDequantize.q4_1(src, out, t.elementCount / 32)
        default: throw GGUFError.unsupportedType(tensor: t.name, type: t.type.name)
        }
    }
}


extension GGUFFile {
    struct Reader {
        let base: UnsafeRawPointer
        let size: Int
        var offset = 0

        mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawPointer {
            guard n >= 0, n <= size - offset else { throw GGUFError.truncated(what) }
            defer { offset += n }
            return base + offset
        }
        mutating func bytes(_ n: Int) throws -> [UInt8] { Array(UnsafeRawBufferPointer(start: try take(n, "the magic"), count: n)) }
        mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
            T(littleEndian: try take(MemoryLayout<T>.size, what).loadUnaligned(as: T.self))
        }
        mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
        mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }
        /// A u64 count at most `max`.
        mutating func count(_ what: String, max: Int) throws -> Int {
            let v = try u64(what)
            guard v <= UInt64(max) else { throw GGUFError.malformed("\(what) is \(v), more than \(max)") }
            return Int(v)
        }
        mutating func string(_ what: String) throws -> String {
            let n = try count("the length of \(what)", max: GGUFFile.maxStringBytes)
            let p = try take(n, what)
            guard let s = String(validating: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self) else {
                throw GGUFError.malformed("\(what) is not UTF-8")
            }
            return s
        }
        mutating func value(type: UInt32, what: String, depth: Int) throws -> Value {
            switch type {
            case 0: return .uint8(try load(UInt8.self, what))
            case 1: return .int8(try load(Int8.self, what))
            case 2: return .uint16(try load(UInt16.self, what))
            case 3: return .int16(try load(Int16.self, what))
            case 4: return .uint32(try load(UInt32.self, what))
            case 5: return .int32(try load(Int32.self, what))
            case 6: return .float32(Float(bitPattern: try load(UInt32.self, what)))
            case 7:
                let b = try load(UInt8.self, what)
                guard b <= 1 else { throw GGUFError.malformed("\(what) is a bool of value \(b)") }
                return .bool(b == 1)
            case 8: return .string(try string(what))
            case 9:
                guard depth < 2 else { throw GGUFError.malformed("\(what) nests arrays too deeply") }
                let elementType = try u32("the element type of \(what)")
                let n = try count("the length of \(what)", max: GGUFFile.maxArrayCount)
                var items = [Value]()
                items.reserveCapacity(min(n, 1 << 16))
                for _ in 0..<n { items.append(try value(type: elementType, what: what, depth: depth + 1)) }
                return .array(items)
            case 10: return .uint64(try load(UInt64.self, what))
            case 11: return .int64(try load(Int64.self, what))
            case 12: return .float64(Double(bitPattern: try load(UInt64.self, what)))
            default: throw GGUFError.malformed("\(what) has value type \(type)")
            }
        }
    }
}
