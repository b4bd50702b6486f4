import Foundation
import TributaryCore

/// Hugging Face `tokenizer.json` for the byte-level BPE tokenizers this engine runs: read (refusing
/// settings it would silently run differently) and written in the form `tokenizers` 0.20+ saves.
extension BPETokenizer {
    static func invalid(_ why: String) -> TributaryError { TributaryError("tokenizer.invalid", why) }
    static func unsupported(_ why: String) -> TributaryError { TributaryError("tokenizer.unsupported", why) }

    public convenience init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TributaryError("tokenizer.not_found", "cannot read \(path)")
        }
        let doc: JSONValue
        do { doc = try StrictJSONParser.parse(data, maxDepth: 16) } catch {
            throw Self.invalid("\(path) is not JSON: \(error)")
        }
        try self.init(json: doc)
    }

    public convenience init(json doc: JSONValue) throws {
        guard case .null = doc["normalizer"] ?? .null else { throw Self.unsupported("a normalizer is set; only byte-level BPE without one is supported") }
        let individualDigits = try Self.readPreTokenizer(doc["pre_tokenizer"] ?? .null)
        guard let model = doc["model"], model["type"]?.stringValue == "BPE" else { throw Self.unsupported("the model is not BPE") }
        for flag in ["byte_fallback", "ignore_merges", "fuse_unk"] where model[flag] == .bool(true) {
            throw Self.unsupported("model.\(flag) is true")
        }
        for key in ["dropout", "continuing_subword_prefix", "end_of_word_suffix"] where (model[key] ?? .null) != .null {
            throw Self.unsupported("model.\(key) is set")
        }
        guard case let .object(vocab)? = model["vocab"] else { throw Self.invalid("model.vocab is not an object") }
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, idValue) in vocab {
            guard let id = idValue.intValue, id >= 0, id < vocab.count else {
                throw Self.invalid("token \(token.debugDescription) has id \(idValue); ids must be 0..<\(vocab.count)")
            }
            guard tokens[id] == nil else { throw Self.invalid("id \(id) is given to two tokens") }
            tokens[id] = token
        }
        var merges = [(String, String)]()
        for (i, m) in (model["merges"]?.arrayValue ?? []).enumerated() {
            // Older files write "a b", newer ones ["a", "b"].
            if let s = m.stringValue {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw Self.invalid("merge \(i) (\(s.debugDescription)) is not two tokens") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let a = m.arrayValue, a.count == 2, let l = a[0].stringValue, let r = a[1].stringValue {
                merges.append((l, r))
            } else {
                throw Self.invalid("merge \(i) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        var specials = [SpecialToken]()
        for (i, a) in (doc["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard let id = a["id"]?.intValue, let content = a["content"]?.stringValue else { throw Self.invalid("added_tokens[\(i)] lacks id or content") }
            for flag in ["lstrip", "rstrip", "single_word"] where a[flag] == .bool(true) {
                throw Self.unsupported("added token \(content.debugDescription) sets \(flag)")
            }
            guard id >= 0, id < tokens.count, tokens[id] == content else {
                throw Self.invalid("added token \(content.debugDescription) has id \(id), which the vocabulary gives to \(id >= 0 && id < tokens.count ? tokens[id]?.debugDescription ?? "no token" : "no token")")
            }
            specials.append(SpecialToken(id: Int32(id), content: content))
        }
        try self.init(tokens: tokens.map { $0! }, merges: merges, specials: specials, individualDigits: individualDigits)
    }

    /// `ByteLevel(use_regex)`, optionally after `Digits(individual_digits: true)`; returns whether digits split.
    static func readPreTokenizer(_ p: JSONValue) throws -> Bool {
        func byteLevel(_ v: JSONValue) throws {
            guard v["type"]?.stringValue == "ByteLevel" else { throw unsupported("pre-tokenizer \(v["type"]?.stringValue ?? "?") is not ByteLevel") }
            guard v["add_prefix_space"] != .bool(true) else { throw unsupported("ByteLevel.add_prefix_space is true") }
            guard v["use_regex"] != .bool(false) else { throw unsupported("ByteLevel.use_regex is false") }
        }
        switch p["type"]?.stringValue {
        case "ByteLevel":
            try byteLevel(p)
            return false
        case "Sequence":
            guard let steps = p["pretokenizers"]?.arrayValue, steps.count == 2,
                  steps[0]["type"]?.stringValue == "Digits", steps[0]["individual_digits"] == .bool(true) else {
                throw unsupported("pre-tokenizer sequence is not [Digits(individual_digits), ByteLevel]")
            }
            try byteLevel(steps[1])
            return true
        default:
            throw unsupported("pre-tokenizer \(p["type"]?.stringValue ?? "none") is not supported (ByteLevel, or Digits then ByteLevel)")
        }
    }

    /// The document `tokenizers` writes for this tokenizer (merges as pairs, keys in its order).
    public func json() -> JSONValue {
        let byteLevel: (Bool, Bool) -> JSONValue = { prefix, trim in
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(prefix)), ("trim_offsets", .bool(trim)), ("use_regex", .bool(true))])
        }
        let pre: JSONValue = preTokenizer.individualDigits
            ? .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel(false, true)]))])
            : byteLevel(false, true)
        let added: [JSONValue] = specials.map {
            .object([("id", .int(Int($0.id))), ("content", .string($0.content)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                     ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(true))])
        }
        let model: JSONValue = .object([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)), ("ignore_merges", .bool(false)),
            ("vocab", .object(tokens.enumerated().map { ($0.element, .int($0.offset)) })),
            ("merges", .array(merges.map { .array([.string($0.0), .string($0.1)]) })),
        ])
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", .null), ("pre_tokenizer", pre), ("post_processor", byteLevel(true, false)),
            ("decoder", byteLevel(true, true)), ("model", model),
        ])
    }
}
