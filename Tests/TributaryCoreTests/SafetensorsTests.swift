import Foundation
import Testing
@testable import TributaryCore

@Suite struct SafetensorsTests {
    @Test func roundTripsF32AndBF16WithMetadata() throws {
        let dir = TempDir()
        var w = SafetensorsWriter(metadata: ["format": "pt", "note": "é"])
        let a: [Float] = [1, -2.5, 3.25, .pi, -0.0, 1e-30]
        let b: [Float] = [1, 0.5, -1.75, 65504, 1e-3]
        w.add("a", shape: [2, 3], values: a)
        w.add("b", shape: [5], values: b, dtype: .bf16)
        w.add("empty", shape: [0, 4], values: [])
        w.add("scalar", shape: [], values: [7])
        try w.write(to: dir.file("t.safetensors"))

        let f = try SafetensorsFile(path: dir.file("t.safetensors"))
        #expect(f.metadata == ["format": "pt", "note": "é"])
        #expect(f.tensors.map(\.name) == ["a", "b", "empty", "scalar"])
        #expect(try f.floats("a") == a)
        #expect(try f.info("b").dtype == .BF16)
        #expect(try f.floats("b") == b.map { HalfConversion.bf16ToFloat(HalfConversion.floatToBF16($0)) })
        #expect(try f.floats("empty") == [])
        #expect(try f.floats("scalar") == [7])
        #expect(f.header.dataStart % 8 == 0)
        #expect(throws: SafetensorsError.tensorNotFound("c")) { _ = try f.floats("c") }
    }

    @Test func bf16RoundsToNearestEven() {
        #expect(HalfConversion.floatToBF16(1.0) == 0x3f80)
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
        #expect(HalfConversion.floatToBF16(Float(bitPattern: 0x3f80_8000)) == 0x3f80)
        #expect(HalfConversion.floatToBF16(Float(bitPattern: 0x3f81_8000)) == 0x3f82)
        #expect(HalfConversion.floatToBF16(Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(HalfConversion.bf16ToFloat(HalfConversion.floatToBF16(.nan)).isNaN)
        #expect(HalfConversion.floatToBF16(.infinity) == 0x7f80)
    }

    @Test func f16ConversionIsExact() {
        #expect(HalfConversion.f16ToFloat(0x3c00) == 1)
        #expect(HalfConversion.f16ToFloat(0xc000) == -2)
        #expect(HalfConversion.f16ToFloat(0x7bff) == 65504)
        #expect(HalfConversion.f16ToFloat(0x0001) == Float(bitPattern: 0x3380_0000))  // smallest subnormal 2^-24
        #expect(HalfConversion.f16ToFloat(0x7c00) == .infinity)
        #expect(HalfConversion.f16ToFloat(0xfe00).isNaN)
        #expect(HalfConversion.f16ToFloat(0x8000).sign == .minus)
    }

    @Test func readsF16Tensors() throws {
        let dir = TempDir()
        let data: [UInt8] = [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]
        try AtomicFileWriter.write(rawSafetensors(header: #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}}"#, data: data),
                                   to: dir.file("h.safetensors"))
        #expect(try SafetensorsFile(path: dir.file("h.safetensors")).floats("h") == [1, -2, 65504])
    }

    @Test func refusesFloatReadOfIntegerDTypes() throws {
        let dir = TempDir()
        try AtomicFileWriter.write(rawSafetensors(header: #"{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: [1, 0, 0, 0]),
                                   to: dir.file("i.safetensors"))
        #expect(throws: SafetensorsError.unsupportedDType(tensor: "i", dtype: "I32")) {
            _ = try SafetensorsFile(path: dir.file("i.safetensors")).floats("i")
        }
    }

    // One malformed file per rule the reference implementation enforces, each with its own error.
    static let f32x2 = #"{"dtype":"F32","shape":[2],"data_offsets":"#
    static let malformed: [(String, [UInt8], SafetensorsError)] = [
        ("truncated length prefix", [1, 0, 0], .truncated("3 bytes is too short for the 8-byte header length")),
        ("header longer than the file", rawSafetensors(header: "{}", claimedLength: 64), .headerOutOfBounds(headerLength: 64, fileSize: 10)),
        ("200 MB header claim", rawSafetensors(header: "{}", claimedLength: 200_000_000), .headerTooLarge(200_000_000)),
        ("non-UTF-8 header", rawSafetensors(header: "{\"\u{FF}\":1}").map { $0 == 0xc3 ? 0xff : $0 }, .headerNotUTF8),
        ("header not an object", rawSafetensors(header: "[]"), .headerStart),
        ("header not JSON", rawSafetensors(header: "{nope}"), .headerJSON("expected a string key at byte 1")),
        ("duplicate tensor names", rawSafetensors(header: #"{"a":\#(f32x2)[0,8]},"a":\#(f32x2)[8,16]}}"#, data: .init(repeating: 0, count: 16)), .duplicateTensor("a")),
        ("unknown dtype", rawSafetensors(header: #"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, data: .init(repeating: 0, count: 8)), .unknownDType(tensor: "a", dtype: "F33")),
        ("shape/byte mismatch", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: .init(repeating: 0, count: 8)), .shapeMismatch(tensor: "a", expectedBytes: 12, actualBytes: 8)),
        ("overlapping offsets", rawSafetensors(header: #"{"a":\#(f32x2)[0,8]},"b":\#(f32x2)[4,12]}}"#, data: .init(repeating: 0, count: 12)), .overlap(tensor: "b", begin: 4, expected: 8)),
        ("gap between tensors", rawSafetensors(header: #"{"a":\#(f32x2)[0,8]},"b":\#(f32x2)[12,20]}}"#, data: .init(repeating: 0, count: 20)), .gap(tensor: "b", begin: 12, expected: 8)),
        ("offsets not from zero", rawSafetensors(header: #"{"a":\#(f32x2)[4,12]}}"#, data: .init(repeating: 0, count: 12)), .gap(tensor: "a", begin: 4, expected: 0)),
        ("truncated data", rawSafetensors(header: #"{"a":\#(f32x2)[0,8]}}"#, data: .init(repeating: 0, count: 5)), .bufferSizeMismatch(covered: 8, buffer: 5)),
        ("trailing bytes", rawSafetensors(header: #"{"a":\#(f32x2)[0,8]}}"#, data: .init(repeating: 0, count: 9)), .bufferSizeMismatch(covered: 8, buffer: 9)),
        ("metadata not a string map", rawSafetensors(header: #"{"__metadata__":{"k":1}}"#), .invalidMetadata("value of \"k\" is number")),
        ("end before begin", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#), .invalidEntry(tensor: "a", problem: "data_offsets end 0 is before begin 8")),
        ("negative shape", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#), .invalidEntry(tensor: "a", problem: "shape must hold non-negative integers")),
        ("size overflow", rawSafetensors(header: #"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#), .overflow(tensor: "a")),
        ("offset beyond u64", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,18446744073709551616]}}"#), .invalidEntry(tensor: "a", problem: "data_offsets must be unsigned 64-bit integers")),
        ("unknown entry field", rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":1}}"#), .invalidEntry(tensor: "a", problem: "unknown field \"x\"")),
    ]

    @Test(arguments: malformed.indices)
    func rejectsMalformedFile(index: Int) throws {
        let (label, file, expected) = Self.malformed[index]
        let dir = TempDir()
        try AtomicFileWriter.write(file, to: dir.file("bad.safetensors"))
        let before = snapshot(dir.path)
        #expect(throws: expected, "\(label)") { _ = try SafetensorsFile(path: dir.file("bad.safetensors")) }
        #expect(snapshot(dir.path) == before)
    }

    @Test func everyMalformedCaseHasItsOwnMessageNamingTheProblem() {
        for (_, _, e) in Self.malformed {
            #expect(!e.message.isEmpty)
            #expect(e.code.hasPrefix("safetensors."))
        }
        // The tensor concerned is named in the message.
        #expect(SafetensorsError.overlap(tensor: "model.w", begin: 4, expected: 8).message.contains("model.w"))
    }

    @Test func readsInsideALargeFileThroughTheMapping() throws {
        // 64 MiB tensor read through the mapping: one element deep inside reads back exactly.
        let dir = TempDir()
        let n = 16 << 20
        var w = SafetensorsWriter()
        w.add("big", shape: [n], values: (0..<n).map { Float($0 % 1000) })
        try w.write(to: dir.file("big.safetensors"))
        let f = try SafetensorsFile(path: dir.file("big.safetensors"))
        let raw = f.rawBytes(try f.info("big"))
        #expect(raw.count == 4 * n)
        #expect(raw.loadUnaligned(fromByteOffset: 4 * 12345, as: Float.self) == 345)
    }
}
