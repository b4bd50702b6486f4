import Foundation

/// Base64 as the formats we follow define it.
///
/// DSSE verifiers must accept both the standard and the URL-safe alphabet, padded or not; signed notes
/// and keys use standard, padded base64 only.
public enum Base64 {
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Data(bytes).base64EncodedString()
    }

    /// Strict standard base64 with padding, as C2SP signed notes and verifier keys use it.
    public static func decodeStandard(_ text: String) -> [UInt8]? {
        guard text.utf8.count % 4 == 0,
              text.utf8.allSatisfy({ isStandardChar($0) || $0 == UInt8(ascii: "=") }),
              let data = Data(base64Encoded: text)
        else { return nil }
        // Foundation accepts some non-canonical trailing bits; re-encoding must give the input back.
        guard data.base64EncodedString() == text else { return nil }
        return [UInt8](data)
    }

    /// Standard or URL-safe alphabet, padding optional (DSSE `envelope.md`).
    public static func decodeLenient(_ text: String) -> [UInt8]? {
        var chars = [UInt8]()
        chars.reserveCapacity(text.utf8.count + 3)
        var sawPad = false
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "="):
                sawPad = true
                continue
            case UInt8(ascii: "-"):
                guard !sawPad else { return nil }
                chars.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"):
                guard !sawPad else { return nil }
                chars.append(UInt8(ascii: "/"))
            default:
                guard !sawPad, isStandardChar(c) else { return nil }
                chars.append(c)
            }
        }
        if chars.count % 4 == 1 { return nil }
        while chars.count % 4 != 0 { chars.append(UInt8(ascii: "=")) }
        guard let data = Data(base64Encoded: Data(chars)) else { return nil }
        return [UInt8](data)
    }

    private static func isStandardChar(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
            || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
    }
}
