/// Builds a safetensors file from Float tensors, written as F32 or BF16, and Int32 tensors (I32).
///
/// The header lists `__metadata__` first and then the tensors in the order they were added, with
/// offsets in that order; it is padded with spaces to a multiple of 8 bytes, as the reference writer
/// does, so the data buffer stays aligned. The file is written atomically (temp file, fsync, rename).
public struct SafetensorsWriter {
    public enum OutputDType: String, Sendable {
        case f32 = "F32"
        case bf16 = "BF16"
        case i32 = "I32"
        var byteSize: Int { self == .bf16 ? 2 : 4 }
    }

    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
        public let dtype: OutputDType
        /// The values of an I32 tensor (`values` is then empty).
        public let ints: [Int32]
        var count: Int { dtype == .i32 ? ints.count : values.count }
    }

    public private(set) var entries: [Entry] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, shape: [Int], values: [Float], dtype: OutputDType = .f32) {
        precondition(dtype != .i32, "tensor \(name): I32 tensors are added from Int32 values")
        precondition(shape.reduce(1, *) == values.count, "tensor \(name): shape \(shape) does not hold \(values.count) values")
        precondition(!entries.contains { $0.name == name } && name != "__metadata__", "tensor \(name) added twice")
        entries.append(Entry(name: name, shape: shape, values: values, dtype: dtype, ints: []))
    }

    public mutating func add(_ name: String, shape: [Int], ints: [Int32]) {
        precondition(shape.reduce(1, *) == ints.count, "tensor \(name): shape \(shape) does not hold \(ints.count) values")
        precondition(!entries.contains { $0.name == name } && name != "__metadata__", "tensor \(name) added twice")
        entries.append(Entry(name: name, shape: shape, values: [], dtype: .i32, ints: ints))
    }

    /// The header bytes including the 8-byte length prefix.
    public func headerBytes() -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            let kv = metadata.keys.sorted().map { ($0, JSONValue.string(metadata[$0]!)) }
            members.append(("__metadata__", .object(kv)))
        }
        var offset: UInt64 = 0
        for e in entries {
            let size = UInt64(e.count * e.dtype.byteSize)
            members.append((e.name, .object([
                ("dtype", .string(e.dtype.rawValue)),
                ("shape", .array(e.shape.map { .int($0) })),
                ("data_offsets", .array([.uint64(offset), .uint64(offset + size)])),
            ])))
            offset += size
        }
        var json = JSONWriter.serialize(.object(members), sortKeys: false)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        let n = UInt64(json.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out.append(contentsOf: json)
        return out
    }

    public func write(to path: String) throws {
        let w = try AtomicFileWriter(path: path)
        do {
            try w.write(headerBytes())
            for e in entries {
                switch e.dtype {
                case .f32:
                    try e.values.withUnsafeBytes { try w.write($0) }
                case .bf16:
                    let halves = e.values.map { HalfConversion.floatToBF16($0) }
                    try halves.withUnsafeBytes { try w.write($0) }
                case .i32:
                    try e.ints.withUnsafeBytes { try w.write($0) }
                }
            }
            try w.commit()
        } catch {
            w.abandon()
            throw error
        }
    }
}
