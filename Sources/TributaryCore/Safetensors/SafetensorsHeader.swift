/// One tensor's entry in a safetensors header; offsets are relative to the start of the data buffer.
public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let begin: UInt64
    public let end: UInt64
    /// The product of `shape`, checked when the header was parsed: with a 1-byte dtype and a zero
    /// dimension last, the byte count can be 0 while the product of the leading dimensions passes
    /// `Int.max` (a hostile file crashed the auditor that way).
    public let elementCount: Int

    public init(name: String, dtype: SafetensorsDType, shape: [Int], begin: UInt64, end: UInt64) throws(SafetensorsError) {
        guard let n = Self.product(shape) else { throw .overflow(tensor: name) }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.end = end
        elementCount = n
    }

    public var byteCount: UInt64 { end - begin }

    /// The product of `dims`, or nil when a partial product overflows `Int`.
    public static func product(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            guard !o, d >= 0 else { return nil }
            n = m
        }
        return n
    }
}

/// A parsed and fully validated safetensors header.
public struct SafetensorsHeader: Sendable {
    /// The reference implementation's limit on the JSON header (100 MB).
    public static let maxHeaderLength: UInt64 = 100_000_000

    /// Tensors in the order their entries appear in the header JSON.
    public let tensors: [TensorInfo]
    public let metadata: [String: String]
    /// Bytes of JSON after the 8-byte length prefix; the data buffer starts at 8 + headerLength.
    public let headerLength: UInt64

    public var dataStart: UInt64 { 8 + headerLength }

    public func tensor(named name: String) throws(SafetensorsError) -> TensorInfo {
        guard let t = tensors.first(where: { $0.name == name }) else { throw .tensorNotFound(name) }
        return t
    }

    /// Parses the length prefix and header of a file of `fileSize` bytes, given its first bytes.
    /// `prefix` must hold at least `8 + headerLength` bytes (or the whole file if shorter).
    public static func parse(prefix: UnsafeRawBufferPointer, fileSize: UInt64) throws(SafetensorsError) -> SafetensorsHeader {
        guard fileSize >= 8, prefix.count >= 8 else {
            throw .truncated("\(fileSize) bytes is too short for the 8-byte header length")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(prefix[i]) << (8 * UInt64(i)) }
        guard n <= maxHeaderLength else { throw .headerTooLarge(n) }
        guard n <= fileSize - 8, Int(n) <= prefix.count - 8 else {
            throw .headerOutOfBounds(headerLength: n, fileSize: fileSize)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: prefix[8..<(8 + Int(n))])
        return try parseHeader(headerBytes, headerLength: n, bufferLength: fileSize - 8 - n)
    }

    /// Validates the JSON header against a data buffer of `bufferLength` bytes.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, headerLength: UInt64, bufferLength: UInt64)
        throws(SafetensorsError) -> SafetensorsHeader
    {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .headerNotUTF8 }
        guard bytes.first == UInt8(ascii: "{") else { throw .headerStart }
        let json: JSONValue
        do {
            json = try StrictJSONParser.parse(bytes, maxDepth: 8)
        } catch {
            // The strict parser reports duplicates as JSON errors; give them their own case.
            if let key = error.duplicateKey, error.duplicateDepth == 0 { throw .duplicateTensor(key) }
            throw .headerJSON(error.description)
        }
        guard case let .object(members) = json else { throw .headerStart }

        var tensors = [TensorInfo]()
        var metadata = [String: String]()
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(kv) = value else { throw .invalidMetadata("found \(value.typeName)") }
                for (k, v) in kv {
                    guard case let .string(s) = v else { throw .invalidMetadata("value of \"\(k)\" is \(v.typeName)") }
                    metadata[k] = s
                }
                continue
            }
            tensors.append(try parseEntry(name: name, value))
        }
        try validateLayout(tensors, bufferLength: bufferLength)
        return SafetensorsHeader(tensors: tensors, metadata: metadata, headerLength: headerLength)
    }

    private static func parseEntry(name: String, _ value: JSONValue) throws(SafetensorsError) -> TensorInfo {
        guard case let .object(fields) = value else {
            throw .invalidEntry(tensor: name, problem: "entry must be an object, found \(value.typeName)")
        }
        var dtypeText: String?
        var shape: [Int]?
        var offsets: [UInt64]?
        for (key, v) in fields {
            switch key {
            case "dtype":
                guard case let .string(s) = v else { throw .invalidEntry(tensor: name, problem: "dtype must be a string") }
                dtypeText = s
            case "shape":
                guard case let .array(items) = v else { throw .invalidEntry(tensor: name, problem: "shape must be an array") }
                var dims = [Int]()
                for item in items {
                    guard case let .number(t) = item, let d = Int(t), d >= 0 else {
                        throw .invalidEntry(tensor: name, problem: "shape must hold non-negative integers")
                    }
                    dims.append(d)
                }
                shape = dims
            case "data_offsets":
                guard case let .array(items) = v, items.count == 2 else {
                    throw .invalidEntry(tensor: name, problem: "data_offsets must be [begin, end]")
                }
                var pair = [UInt64]()
                for item in items {
                    guard case let .number(t) = item, let o = UInt64(t) else {
                        throw .invalidEntry(tensor: name, problem: "data_offsets must be unsigned 64-bit integers")
                    }
                    pair.append(o)
                }
                offsets = pair
            default:
                throw .invalidEntry(tensor: name, problem: "unknown field \"\(key)\"")
            }
        }
        guard let dtypeText else { throw .invalidEntry(tensor: name, problem: "missing dtype") }
        guard let shape else { throw .invalidEntry(tensor: name, problem: "missing shape") }
        guard let offsets else { throw .invalidEntry(tensor: name, problem: "missing data_offsets") }
        guard let dtype = SafetensorsDType(rawValue: dtypeText) else { throw .unknownDType(tensor: name, dtype: dtypeText) }
        guard offsets[0] <= offsets[1] else {
            throw .invalidEntry(tensor: name, problem: "data_offsets end \(offsets[1]) is before begin \(offsets[0])")
        }
        // bytes = product(shape) x dtype size, with every multiplication checked.
        var bytes = UInt64(dtype.byteSize)
        for d in shape {
            let (m, o) = bytes.multipliedReportingOverflow(by: UInt64(d))
            guard !o else { throw .overflow(tensor: name) }
            bytes = m
        }
        guard bytes == offsets[1] - offsets[0] else {
            throw .shapeMismatch(tensor: name, expectedBytes: bytes, actualBytes: offsets[1] - offsets[0])
        }
        return try TensorInfo(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// Offsets sorted by begin must tile [0, bufferLength) exactly: no overlap, no gap, no tail.
    private static func validateLayout(_ tensors: [TensorInfo], bufferLength: UInt64) throws(SafetensorsError) {
        let sorted = tensors.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected: UInt64 = 0
        for t in sorted {
            if t.begin < expected { throw .overlap(tensor: t.name, begin: t.begin, expected: expected) }
            if t.begin > expected { throw .gap(tensor: t.name, begin: t.begin, expected: expected) }
            expected = t.end
        }
        guard expected == bufferLength else { throw .bufferSizeMismatch(covered: expected, buffer: bufferLength) }
    }
}
