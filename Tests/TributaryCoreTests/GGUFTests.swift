import Foundation
import Testing
@testable import TributaryCore

/// The GGUF reader against ggml's own `gguf` Python package: every metadata type, every tensor type
/// Tributary dequantises (bit for bit), the padding before the data section, the real SmolLM2 file,
/// and hostile files (every truncation, corrupted counts) that must give errors, never a trap.
@Suite struct GGUFTests {
    let script = packageRoot + "/scripts/interop/gguf_interop.py"

    func pythonFile() throws -> (TempDir, GGUFFile, JSONValue) {
        let dir = TempDir()
        _ = try runText(try interopPython(), [script, "write", dir.path])
        let expected = try StrictJSONParser.parse(try readSmallFile(dir.file("python.expected.json"), limit: 1 << 20))
        return (dir, try GGUFFile(path: dir.file("python.gguf")), expected)
    }

    @Test func fileWrittenByPythonReadsIdentically() throws {
        let (_, f, expected) = try pythonFile()
        #expect(f.version == 3)
        #expect(f.alignment == 64)
        #expect(f["general.architecture"] == .string("llama"))
        #expect(f["t.u8"] == .uint8(200))
        #expect(f["t.i8"] == .int8(-100))
        #expect(f["t.u16"] == .uint16(60000))
        #expect(f["t.i16"] == .int16(-30000))
        #expect(f["t.u32"] == .uint32(4_000_000_000))
        #expect(f["t.i32"] == .int32(-2_000_000_000))
        #expect(f["t.f32"] == .float32(0.1))
        #expect(f["t.bool"] == .bool(true))
        #expect(f["t.str"] == .string("héllo ✓"))
        #expect(f["t.u64"] == .uint64(1 << 63 + 5))
        #expect(f["t.i64"] == .int64(-(1 << 62)))
        #expect(f["t.f64"] == .float64(2.5e-300))
        #expect(f["t.arr"]?.array?.compactMap(\.int) == [1, 2, 3])
        #expect(f["t.strs"]?.array?.compactMap(\.string) == ["a", "", "ü"])
        guard case let .object(tensors) = expected else { Issue.record("bad expectation"); return }
        #expect(f.tensors.count == tensors.count)
        #expect(Set(f.tensors.map(\.type)) == [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1])
        for (name, want) in tensors {
            let t = try #require(f.tensor(named: name))
            #expect(t.shape == want["shape"]?.arrayValue?.compactMap(\.intValue), "\(name)")
            let bits = try #require(want["bits"]?.arrayValue).map { UInt32($0.uint64Value ?? 0) }
            #expect(try f.floats(t).map(\.bitPattern) == bits, "\(name): not bit-exact against gguf.quants.dequantize")
        }
    }

    /// Every tensor of the real anchor file dequantises to the same float32 bytes as `gguf` gives.
    @Test func smolLM2DequantisesBitExactly() throws {
        let path = try smolLM2Path()
        let f = try GGUFFile(path: path)
        let want = try StrictJSONParser.parse(Array(try runText(try interopPython(), [script, "digests", path]).utf8))
        #expect(f.tensors.count == 272)
        #expect(Set(f.tensors.map(\.type)) == [.f32, .q8_0, .q4_1])
        for t in f.tensors {
            let v = try f.floats(t)
            let digest = v.withUnsafeBytes { Hex.encode(SHA256.digest(Data($0))) }
            #expect(want[t.name]?.stringValue == digest, "\(t.name) (\(t.type.name))")
        }
    }

    /// Cut short anywhere, the file is refused with a GGUF error, never read past its end.
    @Test func everyTruncationIsRefused() throws {
        let (dir, full, _) = try pythonFile()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("python.gguf"))))
        let dataEnd = full.tensors.map { $0.offset + $0.byteCount }.max()!
        for n in 0..<dataEnd {
            let p = dir.file("cut.gguf")
            try Data(bytes[..<n]).write(to: URL(fileURLWithPath: p))
            do {
                _ = try GGUFFile(path: p)
                Issue.record("a file cut to \(n) of \(bytes.count) bytes was accepted")
            } catch let e as GGUFError {
                #expect(["gguf.truncated", "gguf.not_gguf"].contains(e.code), "cut at \(n): \(e.code)")
            }
        }
    }

    /// Corrupt counts, lengths, types and offsets: a specific error each, no trap, no huge allocation.
    @Test func corruptHeadersGetSpecificErrors() throws {
        let (dir, _, _) = try pythonFile()
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("python.gguf"))))
        func attempt(_ edit: (inout [UInt8]) -> Void) throws -> String? {
            var b = good
            edit(&b)
            let p = dir.file("bad.gguf")
            try Data(b).write(to: URL(fileURLWithPath: p))
            do { _ = try GGUFFile(path: p); return nil } catch let e as GGUFError { return e.code }
        }
        func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        #expect(try attempt { $0[0] = UInt8(ascii: "X") } == "gguf.not_gguf")
        #expect(try attempt { $0[4] = 9 } == "gguf.unsupported_version")
        #expect(try attempt { put64(&$0, 8, 1 << 40) } == "gguf.malformed")            // tensor count
        #expect(try attempt { put64(&$0, 16, UInt64.max) } == "gguf.malformed")        // metadata count
        #expect(try attempt { put64(&$0, 24, 1 << 60) } == "gguf.malformed")           // first key's length
        // The first tensor's type (4 bytes after its one dimension pair) set to a code ggml lacks.
        let name = Array("a.f32".utf8)
        let at = (0..<good.count - name.count).first { Array(good[$0..<$0 + name.count]) == name }!
        let typeAt = at + name.count + 4 + 16
        #expect(try attempt { $0[typeAt] = 99 } == "gguf.unknown_type")
        #expect(try attempt { $0[typeAt] = 12 } == "gguf.malformed")  // Q4_K: 5 values per row is no whole block
        #expect(try attempt { $0[typeAt] = 26 } == nil)  // I32: located (4 bytes a value), just not dequantised
        #expect(try attempt { put64(&$0, typeAt + 4, 1 << 40) } == "gguf.truncated")  // offset past the end
        #expect(try attempt { put64(&$0, typeAt + 4, 3) } == "gguf.malformed")        // unaligned offset
    }

    @Test func unsupportedTypesAreNamed() throws {
        let (dir, _, _) = try pythonFile()
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("python.gguf"))))
        let name = Array("a.f32".utf8)
        let at = (0..<b.count - name.count).first { Array(b[$0..<$0 + name.count]) == name }!
        b[at + name.count + 4 + 16] = 26  // I32
        try Data(b).write(to: URL(fileURLWithPath: dir.file("i32.gguf")))
        let f = try GGUFFile(path: dir.file("i32.gguf"))
        #expect(throws: GGUFError.unsupportedType(tensor: "a.f32", type: "I32")) { _ = try f.floats(f.tensors[0]) }
    }
}
