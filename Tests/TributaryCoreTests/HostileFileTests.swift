import Foundation
import Testing
import TributaryTestSupport
@testable import TributaryCore

/// Files a hostile server or export hands the auditor and the client (issue 25): each is refused with
/// a specific error, never a crash.
@Suite struct HostileFileTests {
    /// The 83-byte file: a 1-byte dtype whose leading dimensions multiply past Int.max and a last
    /// dimension of 0, so the checked byte count (0) passed and the element count trapped.
    @Test func anElementCountPastIntMaxIsRefused() throws {
        let dir = TempDir()
        for shape in ["[4294967296,2147483648,0]", "[3,4611686018427387904,0]"] {
            let json = Array("{\"t\":{\"dtype\":\"U8\",\"shape\":\(shape),\"data_offsets\":[0,0]}}".utf8)
            var bytes = [UInt8](repeating: 0, count: 8)
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64(i))) }
            try Data(bytes + json).write(to: URL(fileURLWithPath: dir.file("overflow.safetensors")))
            #expect(throws: SafetensorsError.overflow(tensor: "t")) { _ = try SafetensorsFile(path: dir.file("overflow.safetensors")) }
        }
        // A legitimate empty tensor with a large leading dimension still reads.
        var w = SafetensorsWriter(metadata: [:])
        w.add("empty", shape: [1 << 40, 0], values: [])
        try w.write(to: dir.file("empty.safetensors"))
        #expect(try SafetensorsFile(path: dir.file("empty.safetensors")).floats("empty") == [])
    }

    /// Integer dtypes are refused before anything is allocated for them.
    @Test func floatsOfAnIntegerTensorAreRefused() throws {
        let dir = TempDir()
        let json = Array("{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}".utf8)
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = UInt8(json.count)
        try Data(bytes + json + [1, 2, 3, 4]).write(to: URL(fileURLWithPath: dir.file("u8.safetensors")))
        let f = try SafetensorsFile(path: dir.file("u8.safetensors"))
        #expect(throws: SafetensorsError.self) { _ = try f.floats("t") }
    }
}
