/// Serialises a `JSONValue` compactly: no insignificant whitespace, keys in the order given or sorted
/// by their UTF-8 bytes, non-ASCII written as UTF-8, only `"`, `\` and control characters escaped.
///
/// This is the canonical form of every JSON document Tributary signs (protocol/SPEC.md, "Canonical JSON").
/// Verifiers never re-serialise: they check signatures over the bytes they received.
public enum JSONWriter {
    public static func serialize(_ value: JSONValue, sortKeys: Bool = true) -> [UInt8] {
        var out = [UInt8]()
        write(value, sortKeys: sortKeys, into: &out)
        return out
    }

    public static func string(_ value: JSONValue, sortKeys: Bool = true) -> String {
        String(decoding: serialize(value, sortKeys: sortKeys), as: UTF8.self)
    }

    private static func write(_ value: JSONValue, sortKeys: Bool, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: Array("null".utf8))
        case let .bool(b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case let .number(text): out.append(contentsOf: Array(text.utf8))
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, sortKeys: sortKeys, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            let ordered = sortKeys ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
            out.append(UInt8(ascii: "{"))
            for (i, (key, item)) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(item, sortKeys: sortKeys, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(contentsOf: [0x5c, 0x22])
            case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: out.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case 0x0d: out.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0xf)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
