/// A strict RFC 8259 parser for bytes that other parties sign or send us.
///
/// Stricter than Foundation's: it rejects duplicate object keys (a classic source of parser
/// differentials in signed documents), invalid UTF-8, lone surrogate escapes, leading zeros and
/// nesting deeper than `maxDepth`, and it reports the byte offset of every failure.
public struct StrictJSONParser {
    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public let offset: Int
        public let reason: String
        /// Set when the failure is a repeated object key: the key and the object's nesting depth (0 = top).
        public var duplicateKey: String? = nil
        public var duplicateDepth: Int = 0
        public var description: String { "\(reason) at byte \(offset)" }
    }

    public static let defaultMaxDepth = 64

    private let bytes: [UInt8]
    private var pos = 0
    private let maxDepth: Int

    private init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses one JSON value; only whitespace may follow it.
    public static func parse<C: Collection>(_ input: C, maxDepth: Int = defaultMaxDepth) throws(Failure) -> JSONValue
    where C.Element == UInt8 {
        var p = StrictJSONParser(Array(input), maxDepth: maxDepth)
        p.skipWhitespace()
        let value = try p.parseValue(depth: 0)
        p.skipWhitespace()
        guard p.pos == p.bytes.count else { throw p.fail("unexpected data after the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> Failure { Failure(offset: pos, reason: reason) }

    private mutating func skipWhitespace() {
        while pos < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[pos]) { pos += 1 }
    }

    private mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ word: String) throws(Failure) {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else {
            throw fail("invalid literal")
        }
        pos += w.count
    }

    private mutating func parseObject(depth: Int) throws(Failure) -> JSONValue {
        pos += 1
        var members: [(String, JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = pos
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw Failure(offset: keyOffset, reason: "duplicate key \"\(key)\"", duplicateKey: key, duplicateDepth: depth)
            }
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unterminated object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(Failure) -> JSONValue {
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unterminated array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws(Failure) -> String {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) { throw fail("leading zero in number") }
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid fraction") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw fail("invalid exponent") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private mutating func parseString() throws(Failure) -> String {
        pos += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                break
            }
            if c < 0x20 { throw fail("control character in string") }
            if c == UInt8(ascii: "\\") {
                pos += 1
                guard pos < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(try parseUnicodeEscape(), to: &out)
                default: throw fail("invalid escape")
                }
                continue
            }
            if c < 0x80 {
                out.append(c)
                pos += 1
            } else {
                let n = try utf8SequenceLength(at: pos)
                out.append(contentsOf: bytes[pos..<pos + n])
                pos += n
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private mutating func parseUnicodeEscape() throws(Failure) -> UInt32 {
        let first = try hex4()
        if first >= 0xDC00 && first <= 0xDFFF { throw fail("lone low surrogate") }
        guard first >= 0xD800 && first <= 0xDBFF else { return first }
        guard pos + 2 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
            throw fail("lone high surrogate")
        }
        pos += 2
        let second = try hex4()
        guard second >= 0xDC00 && second <= 0xDFFF else { throw fail("invalid surrogate pair") }
        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        let s = Unicode.Scalar(scalar)!  // surrogates were excluded above
        out.append(contentsOf: Array(String(Character(s)).utf8))
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    private func utf8SequenceLength(at i: Int) throws(Failure) -> Int {
        let c = bytes[i]
        let n: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; upper = 0x9F
        case 0xF0: n = 4; lower = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; upper = 0x8F
        default: throw Failure(offset: i, reason: "invalid UTF-8")
        }
        guard i + n <= bytes.count else { throw Failure(offset: i, reason: "truncated UTF-8") }
        guard bytes[i + 1] >= lower && bytes[i + 1] <= upper else { throw Failure(offset: i, reason: "invalid UTF-8") }
        var k = 2
        while k < n {
            guard bytes[i + k] >= 0x80 && bytes[i + k] <= 0xBF else { throw Failure(offset: i, reason: "invalid UTF-8") }
            k += 1
        }
        return n
    }
}
