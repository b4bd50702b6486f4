import Testing
@testable import TributaryCore

@Suite struct JSONTests {
    @Test func parsesAndKeepsMemberOrderAndNumberText() throws {
        let v = try StrictJSONParser.parse(bytes(#"{"b":18446744073709551615,"a":[1.5e3,true,null,"x\u00e9\ud83d\ude00"]}"#))
        guard case let .object(m) = v else { Issue.record("not an object"); return }
        #expect(m.map(\.0) == ["b", "a"])
        #expect(m[0].1 == .number("18446744073709551615"))
        #expect(v["a"] == .array([.number("1.5e3"), .bool(true), .null, .string("xé😀")]))
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate key"),
        (#"{"a":01}"#, "leading zero"),
        (#"{"a":"\ud800"}"#, "lone high surrogate"),
        (#"{"a":"\udc00"}"#, "lone low surrogate"),
        (#"{"a":1} x"#, "unexpected data"),
        (#"{"a":[1,]}"#, "unexpected character"),
        ("{\"a\":\"tab\u{9}here\"}", "control character"),
        (#"[1"#, "unterminated"),
        (#"{"a":tru}"#, "invalid literal"),
        (#"{"a":1.}"#, "invalid fraction"),
        (#"{"a":1e}"#, "invalid exponent"),
    ])
    func rejectsMalformed(input: String, reason: String) {
        #expect {
            _ = try StrictJSONParser.parse(bytes(input))
        } throws: { error in
            (error as? StrictJSONParser.Failure)?.reason.contains(reason) == true
        }
    }

    @Test func rejectsInvalidUTF8AndOverlongs() {
        for bad: [UInt8] in [[0x22, 0xff, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]] {
            #expect(throws: StrictJSONParser.Failure.self) { _ = try StrictJSONParser.parse(bad) }
        }
    }

    @Test func limitsDepth() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: StrictJSONParser.Failure.self) { _ = try StrictJSONParser.parse(bytes(deep), maxDepth: 64) }
        #expect(throws: Never.self) { _ = try StrictJSONParser.parse(bytes(deep), maxDepth: 128) }
    }

    @Test func writerIsCanonicalAndRoundTrips() throws {
        let v = JSONValue.object([("z", .int(1)), ("a", .string("q\"\\\n\u{1}é")), ("m", .array([.double(0.5), .double(2), .bool(false)]))])
        let text = JSONWriter.string(v)
        #expect(text == #"{"a":"q\"\\\n\u0001é","m":[0.5,2,false],"z":1}"#)
        let back = try StrictJSONParser.parse(bytes(text))
        #expect(back["a"] == .string("q\"\\\n\u{1}é"))
    }

    @Test func objectReaderRefusesUnknownAndMistypedFields() throws {
        let v = try StrictJSONParser.parse(bytes(#"{"n":3,"s":"x","extra":true}"#))
        var r = try JSONObjectReader(v, path: "doc")
        #expect(try r.int("n") == 3)
        #expect(throws: JSONSchemaError(path: "doc.s", problem: "expected integer, found string")) { _ = try r.int("s") }
        #expect(throws: JSONSchemaError(path: "doc.extra", problem: "unknown field")) { try r.finish() }
    }

    @Test func base64LenientAcceptsBothAlphabetsStrictDoesNot() {
        let raw: [UInt8] = [0xfb, 0xff, 0xfe, 0x01]
        #expect(Base64.encode(raw) == "+//+AQ==")
        #expect(Base64.decodeLenient("+//+AQ==") == raw)
        #expect(Base64.decodeLenient("-__-AQ") == raw)
        #expect(Base64.decodeStandard("-__-AQ==") == nil)
        #expect(Base64.decodeStandard("+//+AQ") == nil)
        #expect(Base64.decodeLenient("not base64!") == nil)
    }

    @Test func timestampsRoundTripAndRejectImpossibleDates() {
        #expect(Timestamp.formatRFC3339(0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.parseRFC3339("2026-11-23T19:35:00Z") == 1795462500)
        #expect(Timestamp.parseRFC3339("2026-02-31T00:00:00Z") == nil)
        #expect(Timestamp.parseRFC3339("2026-11-23 19:35:00Z") == nil)
        #expect(Timestamp.parseRFC3339("2026-11-23T19:35:00+01:00") == nil)
    }
}
