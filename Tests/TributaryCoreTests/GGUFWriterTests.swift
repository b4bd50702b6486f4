import Foundation
import Testing
@testable import TributaryCore

/// The GGUF writer (issue 31): what it writes reads back through Tributary's reader and through ggml's
/// own `gguf` package, bit for bit against that package's encodings (F16 rounding, Q8_0 quantisation).
@Suite struct GGUFWriterTests {
    let script = packageRoot + "/scripts/interop/gguf_interop.py"

    /// Values with ties and extremes for the encoders: halves at F16 ties, a zero block, a block whose
    /// maximum is negative, subnormal-range values.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24) - 0.5
            switch i % 97 {
            case 0: return 1 + 0x1p-11  // halfway between two F16 values
            case 1: return -3.0e-6
            default: return u * (i % 5 == 0 ? 40 : 1)
            }
        }
    }

    func writeSample(to dir: TempDir) throws -> (gguf: String, tensors: [(name: String, shape: [Int], type: GGMLType, values: [Float])]) {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("t.u32", .uint32(4_000_000_000)); w.add("t.i32", .int32(-5)); w.add("t.f32", .float32(0.1)); w.add("t.bool", .bool(true))
        w.add("t.str", .string("héllo ✓")); w.add("t.u64", .uint64(1 << 63 + 5)); w.add("t.f64", .float64(2.5e-300))
        w.add("t.strs", .array([.string("a"), .string(""), .string("ü")])); w.add("t.ints", .array([.int32(1), .int32(-2)]))
        var zeroBlock = Self.values(128, seed: 3)
        for i in 32..<64 { zeroBlock[i] = 0 }
        let tensors: [(name: String, shape: [Int], type: GGMLType, values: [Float])] = [
            ("a.f32", [3, 5], .f32, Self.values(15, seed: 1)),
            ("b.f16", [2, 64], .f16, Self.values(128, seed: 2)),
            ("c.q8_0", [2, 64], .q8_0, zeroBlock),
            ("d.q8_0", [2, 3, 32], .q8_0, Self.values(192, seed: 4)),
        ]
        for t in tensors { let v = t.values; try w.addTensor(t.name, shape: t.shape, type: t.type) { v } }
        let path = dir.file("tributary.gguf")
        try w.write(to: path)
        var s = SafetensorsWriter(metadata: [:])
        for t in tensors { s.add(t.name, shape: t.shape, values: t.values) }
        try s.write(to: dir.file("source.safetensors"))
        return (path, tensors)
    }

    @Test func whatTheWriterWritesReadsBackHere() throws {
        let dir = TempDir()
        let (path, tensors) = try writeSample(to: dir)
        let f = try GGUFFile(path: path)
        #expect(f.version == 3)
        #expect(f["t.u32"] == .uint32(4_000_000_000) && f["t.i32"] == .int32(-5) && f["t.bool"] == .bool(true))
        #expect(f["t.str"] == .string("héllo ✓") && f["t.f64"] == .float64(2.5e-300))
        #expect(f["t.strs"] == .array([.string("a"), .string(""), .string("ü")]))
        for t in tensors {
            let got = try #require(f.tensor(named: t.name))
            #expect(got.shape == t.shape && got.type == t.type, "\(t.name)")
            let back = try f.floats(got)
            switch t.type {
            case .f32: #expect(back.map(\.bitPattern) == t.values.map(\.bitPattern))
            case .f16: #expect(back.map(\.bitPattern) == t.values.map { Float(Float16($0)).bitPattern })
            default:
                // Q8_0 loses at most half a step of d = max|x|/127 per block (plus d's own F16 rounding).
                for b in 0..<t.values.count / 32 {
                    let block = t.values[b * 32..<(b + 1) * 32], amax = block.map(abs).max()!
                    for j in block.indices { #expect(abs(back[j] - t.values[j]) <= amax / 127 * 0.51 + amax * 1e-3, "\(t.name)[\(j)]") }
                }
            }
        }
    }

    @Test func ggmlsOwnPackageReadsItAndEncodesTheSameBytes() throws {
        let dir = TempDir()
        let (path, tensors) = try writeSample(to: dir)
        let out = try StrictJSONParser.parse(Array(try runText(try interopPython(), [script, "check-written", path, dir.file("source.safetensors")]).utf8))
        #expect(out["metadata"]?["t.str"] == .string("héllo ✓"))
        #expect(out["metadata"]?["t.u32"] == .int(4_000_000_000))
        #expect(out["metadata"]?["t.strs"] == .array([.string("a"), .string(""), .string("ü")]))
        for t in tensors {
            let r = try #require(out["tensors"]?[t.name], "gguf did not list \(t.name)")
            #expect(r["type"] == .string(t.type.name), "\(t.name)")
            #expect(r["shape"] == .array(t.shape.map { .int($0) }), "\(t.name)")
            #expect(r["bytesEqual"] == .bool(true), "\(t.name): bytes differ from gguf's own encoding")
        }
    }

    @Test func badTensorsAreRefusedAndNothingIsWritten() throws {
        let dir = TempDir()
        var w = GGUFWriter()
        #expect(throws: GGUFError.self) { try w.addTensor("odd", shape: [2, 30], type: .q8_0) { [] } }
        #expect(throws: GGUFError.self) { try w.addTensor("q4", shape: [2, 32], type: .q4_0) { [] } }
        try w.addTensor("nan", shape: [2, 2], type: .f32) { [1, .nan, 2, 3] }
        #expect(throws: GGUFError.self) { try w.write(to: dir.file("bad.gguf")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad.gguf")))
        var short = GGUFWriter()
        try short.addTensor("short", shape: [4], type: .f32) { [1, 2] }
        #expect(throws: GGUFError.self) { try short.write(to: dir.file("short.gguf")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("short.gguf")))
    }
}
