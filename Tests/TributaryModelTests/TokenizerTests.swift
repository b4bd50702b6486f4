import Foundation
import Testing
import TributaryCore
@testable import TributaryModel
import TributaryTestSupport

/// The byte-level BPE tokenizer against Hugging Face `tokenizers` (Rust) on the SmolLM2 vocabulary:
/// the same ids and the same decoded text on nasty strings, random strings, invalid UTF-8 and every
/// file of three Debian corpora (licences, fortunes with their binary index files, Python's email
/// package). The tokenizer.json `tokenizers` reads is the one Tributary writes from the GGUF file.
@Suite struct TokenizerTests {
    static let nasty: [String] = [
        "Hello world!", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", "  hello", "hello   world  ",
        "a\r\nb\r\n\r\nc", "\tindent\t\tx\n\n\n  y", "abc123def x 12 $1,234.56 3.14159", "it's IT'S don't we'll they've I'm he'd 'S",
        "na\u{EF}ve caf\u{E9} e\u{301} \u{F1} n\u{303}", "日本語のテキスト、中文，한국어", "Привет, мир! Γειά σου κόσμε",
        "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷", "١٢٣ ²³½ Ⅻ", "a\u{A0}b\u{3000}c\u{200B}d\u{FEFF}e", "ctrl\u{04}\u{06}\u{13}\u{14}\u{16}\u{1D}end a\u{0}b\u{7F}",
        "bad utf8: \u{FFFD}\u{FFFD}", "plane4 \u{40000} and \u{10FFFF}", " <|im_end|> x<|endoftext|><|endoftext|><|im_start",
        "def f(x):\n    return x**2  # comment", "    ", "", "'''", "'s's 're're", "x\u{2028}y\u{85}z\u{1680}w", "!\u{04}!",
        "<<|im_end|>>", "https://example.com/path?q=1&b=two#frag", "<repo_name>foo<file_sep><jupyter_code>print(1)<empty_output>",
        " \n \n", "\n ", " 1", "a  1", "\u{300}\u{300}x", "\u{1F600}\u{1F600}\u{1F600}",
    ]

    /// Byte strings that are not UTF-8: lone continuation bytes, overlong forms, surrogates, truncated sequences.
    static let invalid: [[UInt8]] = [
        [0x61, 0xFF, 0xFE, 0x62], [0xE2, 0x82], [0xE2, 0x82, 0x78], [0xF0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xC0, 0xAF],
        [0x80, 0x80, 0x41], [0xF4, 0x90, 0x80, 0x80], [0xF1, 0x80, 0x80, 0x80, 0x20, 0xF1], [0x20, 0xC3], [0xC3, 0x28, 0xA9],
    ]

    /// Strings of random scalars drawn from every troublesome class, seeded.
    static func randomStrings(_ count: Int) -> [String] {
        var rng = RNG(seed: 11)
        let pool: [UInt32] = Array(0x20...0x7E) + [0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0xA0, 0x2009, 0x3000, 0x200B, 0x04, 0x06, 0x1D, 0x7F,
                                                  0xE9, 0x301, 0x660, 0xB2, 0xBD, 0x2163, 0x4E2D, 0xAC00, 0x1F600, 0x1F3FD, 0x200D, 0x40000, 0x10FFFF, 0x27]
        return (0..<count).map { _ in
            String(String.UnicodeScalarView((0..<Int(rng.next() % 40)).map { _ in Unicode.Scalar(pool[Int(rng.next() % UInt64(pool.count))])! }))
        }
    }

    static func corpusFiles() -> [String] {
        var out = [String]()
        let fm = FileManager.default
        for (dir, ext) in [("/usr/share/common-licenses", ""), ("/usr/share/games/fortunes", ""), ("/usr/lib/python3.11/email", ".py")] {
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(ext) {
                var st = stat()
                if lstat(dir + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { out.append(dir + "/" + name) }
            }
        }
        return out
    }

    /// Issue 25: an embedding reads a document's first 256 tokens, and tokenizes only the bytes they can
    /// span (81 bytes a token for SmolLM2); on real text that is exactly the whole document's prefix.
    /// And 64 KB of random letters — one pre-token — tokenizes in the heap's O(n log n).
    @Test func leadingTokensReadOnlyWhatTheyNeed() throws {
        let t = Tokenizer.bpe(try BPETokenizer(gguf: GGUFFile(path: try smolLM2Path())))
        #expect(t.maxTokenBytes == 81)
        var checked = 0
        for f in Self.corpusFiles() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: f)))
            for n in [16, 256] where bytes.count > n * t.maxTokenBytes {
                #expect(t.leadingDocumentTokens(bytes, count: n) == Array(t.document(bytes).prefix(n)), "\(f), \(n) tokens")
                checked += 1
            }
        }
        #expect(checked > 20)
        let short = Array("int x;".utf8)
        #expect(t.leadingDocumentTokens(short, count: 256) == t.document(short), "a short document keeps its end token")
        #expect(Tokenizer.bytes.leadingDocumentTokens(Array(repeating: 65, count: 5000), count: 2048).count == 2048)
        var rng = RNG(seed: 3)
        let letters = (0..<65536).map { _ in UInt8(97 + rng.below(26)) }
        #expect(t.leadingDocumentTokens(letters, count: 256).count == 256)
        #expect(t.encode(letters).count > 10_000)
    }

    @Test func exactAgainstHuggingFaceTokenizers() throws {
        let tok = try BPETokenizer(gguf: GGUFFile(path: try smolLM2Path()))
        #expect(tok.vocabSize == 49152)
        #expect(tok.merges.count == 48900)
        #expect(tok.specials.count == 17)
        let dir = scratchDirectory("tok")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(JSONWriter.serialize(tok.json(), sortKeys: false)).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))

        var inputs = [(name: String, bytes: [UInt8])]()
        for (i, s) in Self.nasty.enumerated() { inputs.append(("nasty \(i)", Array(s.utf8))) }
        for (i, s) in Self.randomStrings(3000).enumerated() { inputs.append(("random \(i)", Array(s.utf8))) }
        for (i, b) in Self.invalid.enumerated() { inputs.append(("invalid \(i)", b)) }
        let files = Self.corpusFiles()
        #expect(files.count > 60, "the Debian corpora are installed by scripts/setup.sh")
        for f in files { inputs.append((f, [UInt8](try Data(contentsOf: URL(fileURLWithPath: f))))) }
        let request: JSONValue = .array(inputs.map { .object([("name", .string($0.name)), ("hex", .string(Hex.encode($0.bytes)))]) })
        try Data(JSONWriter.serialize(request)).write(to: URL(fileURLWithPath: dir + "/input.json"))
        let reference = try StrictJSONParser.parse(try runProcess(try interopPython(), [
            packageRoot + "/scripts/interop/tokenizers_interop.py", "encode", dir + "/tokenizer.json", dir + "/input.json"]), maxDepth: 8)

        var mismatches = 0, tokens = 0
        for (name, bytes) in inputs {
            let want = try #require(reference[name])
            let wantIDs = try #require(want["ids"]?.arrayValue).map { Int32($0.intValue ?? -1) }
            let got = tok.encode(bytes: bytes)
            tokens += got.count
            if got != wantIDs {
                mismatches += 1
                let at = (0..<min(got.count, wantIDs.count)).first { got[$0] != wantIDs[$0] } ?? min(got.count, wantIDs.count)
                if mismatches <= 5 {
                    Issue.record("\(name): ids differ at token \(at): ours \(got[at..<min(at + 8, got.count)]) vs tokenizers \(wantIDs[at..<min(at + 8, wantIDs.count)])")
                }
            }
            #expect(tok.decode(wantIDs, skipSpecial: false) == want["decoded"]?.stringValue, "\(name): decoded text differs")
        }
        #expect(mismatches == 0, "\(mismatches) of \(inputs.count) inputs tokenized differently (\(tokens) tokens in all)")
    }

    /// tokenizer.json written by us reads back to the same tokenizer; one from the GGUF matches one from JSON.
    @Test func tokenizerJSONRoundTrips() throws {
        let a = try BPETokenizer(gguf: GGUFFile(path: try smolLM2Path()))
        let b = try BPETokenizer(json: StrictJSONParser.parse(JSONWriter.serialize(a.json()), maxDepth: 16))
        #expect(a.tokens == b.tokens)
        #expect(a.merges.map { $0.0 + " " + $0.1 } == b.merges.map { $0.0 + " " + $0.1 })
        #expect(a.specials == b.specials)
        for s in Self.nasty { #expect(a.encode(s) == b.encode(s)) }
    }

    /// Text whose bytes all have tokens decodes back to itself; the 21 bytes without a token are dropped.
    @Test func decodeInvertsEncode() throws {
        let tok = try BPETokenizer(gguf: GGUFFile(path: try smolLM2Path()))
        #expect(tok.bpe.byteToken.filter { $0 < 0 }.count == 21)
        for s in Self.nasty where !s.unicodeScalars.contains(where: { [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D].contains($0.value) || $0.value >= 0x40000 }) {
            #expect(tok.decode(tok.encode(s), skipSpecial: false) == s, "\(s.debugDescription)")
        }
        // Dropped before merging, inside one pre-token: the neighbours merge as if it were not there.
        #expect(tok.encode("!\u{04}!") == tok.encode("!!"))
        #expect(tok.encode("a\u{04}b") == tok.encode("a") + tok.encode("b"))
    }

    @Test func refusesWhatItWouldRunDifferently() throws {
        let base = try BPETokenizer(gguf: GGUFFile(path: try smolLM2Path())).json()
        func edited(_ path: [String], _ value: JSONValue) -> JSONValue {
            func set(_ v: JSONValue, _ p: ArraySlice<String>) -> JSONValue {
                guard let k = p.first, case let .object(m) = v else { return value }
                return .object(m.map { $0.0 == k ? ($0.0, set($0.1, p.dropFirst())) : $0 })
            }
            return set(base, path[...])
        }
        func code(_ doc: JSONValue) -> String? {
            do { _ = try BPETokenizer(json: doc); return nil } catch let e as TributaryError { return e.code } catch { return "other" }
        }
        #expect(code(edited(["normalizer"], .object([("type", .string("NFC"))]))) == "tokenizer.unsupported")
        #expect(code(edited(["model", "byte_fallback"], .bool(true))) == "tokenizer.unsupported")
        #expect(code(edited(["model", "type"], .string("WordPiece"))) == "tokenizer.unsupported")
        #expect(code(edited(["pre_tokenizer"], .object([("type", .string("Metaspace"))]))) == "tokenizer.unsupported")
        #expect(code(edited(["model", "merges"], .array([.string("Ġ zzzz")]))) == "tokenizer.invalid")
        #expect(code(edited(["model", "merges"], .array([.string("a b c")]))) == "tokenizer.invalid")
        #expect(code(edited(["added_tokens"], .array([.object([("id", .int(5)), ("content", .string("<|im_end|>"))])]))) == "tokenizer.invalid")
        #expect(code(edited(["model", "vocab"], .object([("a", .int(0)), ("b", .int(0))]))) == "tokenizer.invalid")
        #expect(code(edited(["model", "vocab"], .object([("a", .int(0)), ("b", .int(7))]))) == "tokenizer.invalid")
    }
}
