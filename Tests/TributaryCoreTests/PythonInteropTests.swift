import Foundation
import Testing
@testable import TributaryCore

@Suite struct PythonInteropTests {
    let script = packageRoot + "/scripts/interop/safetensors_interop.py"

    @Test func fileWrittenByPythonReadsBackIdentically() throws {
        let dir = TempDir()
        _ = try runText(try interopPython(), [script, "write", dir.path])
        let expected = try StrictJSONParser.parse(try readSmallFile(dir.file("python.expected.json"), limit: 1 << 20))
        let main = try SafetensorsFile(path: dir.file("python.safetensors"))
        let bf = try SafetensorsFile(path: dir.file("python-bf16.safetensors"))
        #expect(main.metadata == ["producer": "python-safetensors"])
        #expect(try main.info("weights.f16").dtype == .F16)
        #expect(try bf.info("weights.bf16").dtype == .BF16)
        for (name, file) in [("weights.f32", main), ("weights.f16", main), ("empty", main), ("weights.bf16", bf)] {
            guard case let .array(bits) = expected[name]! else { Issue.record("bad expectation"); continue }
            let want = bits.map { v -> UInt32 in if case let .number(t) = v { return UInt32(t)! } else { return 0 } }
            let got = try file.floats(name).map(\.bitPattern)
            #expect(got == want, "\(name)")
        }
        #expect(try main.info("weights.f32").shape == [3, 5])
    }

    @Test func fileWrittenBySwiftLoadsInPythonIdentically() throws {
        let dir = TempDir()
        var w = SafetensorsWriter(metadata: ["producer": "tributary"])
        let a: [Float] = (0..<24).map { Float($0) * 0.37 - 4 }
        let b: [Float] = [1, -0.5, 3.14159, 1e-3, -65504, 0.1]
        w.add("model.a", shape: [2, 3, 4], values: a)
        w.add("model.b", shape: [6], values: b, dtype: .bf16)
        w.add("model.empty", shape: [0], values: [])
        try w.write(to: dir.file("swift.safetensors"))
        let out = try StrictJSONParser.parse(Array(try runText(try interopPython(), [script, "check", dir.file("swift.safetensors")]).utf8))
        #expect(out["metadata"] == .object([("producer", .string("tributary"))]))
        func bits(_ name: String) throws -> [UInt32] {
            let v = try #require(out["tensors"]?[name]?["bits"], "python reported no tensor \(name)")
            guard case let .array(items) = v else { throw TributaryError("test.interop", "\(name): bits is not an array") }
            return try items.map {
                guard case let .number(t) = $0, let x = UInt32(t) else { throw TributaryError("test.interop", "\(name): bits must be u32") }
                return x
            }
        }
        #expect(try bits("model.a") == a.map(\.bitPattern))
        #expect(try bits("model.b") == b.map { UInt32(HalfConversion.floatToBF16($0)) << 16 })
        #expect(out["tensors"]?["model.a"]?["shape"] == .array([.int(2), .int(3), .int(4)]))
        #expect(out["tensors"]?["model.b"]?["dtype"] == .string("BF16"))
        #expect(try bits("model.empty") == [])
    }

    @Test func pythonRejectsWhatWeReject() throws {
        // A gap between tensors: both implementations must refuse it.
        let dir = TempDir()
        let f32 = #"{"dtype":"F32","shape":[1],"data_offsets":"#
        try AtomicFileWriter.write(rawSafetensors(header: #"{"a":\#(f32)[0,4]},"b":\#(f32)[8,12]}}"#, data: .init(repeating: 0, count: 12)),
                                   to: dir.file("gap.safetensors"))
        #expect(throws: SafetensorsError.gap(tensor: "b", begin: 8, expected: 4)) { _ = try SafetensorsFile(path: dir.file("gap.safetensors")) }
        #expect(throws: TributaryError.self) { _ = try runText(try interopPython(), [script, "check", dir.file("gap.safetensors")]) }
    }
}
