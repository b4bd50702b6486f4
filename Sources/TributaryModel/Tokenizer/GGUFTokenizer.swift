import TributaryCore

extension BPETokenizer {
    /// llama.cpp pre-tokenizer names this engine runs, and whether each splits digits one by one
    /// first (llama.cpp's `smollm` is `\p{N}` then GPT-2's pattern).
    static let ggufPreTokenizers: [String: Bool] = ["smollm": true, "gpt2": false, "gpt-2": false, "default": false]

    /// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata (byte-level BPE only).
    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.require("tokenizer.ggml.model").string ?? ""
        guard model == "gpt2" else { throw Self.unsupported("tokenizer.ggml.model is \(model.debugDescription); only byte-level BPE (gpt2) is supported") }
        let pre = gguf["tokenizer.ggml.pre"]?.string ?? "default"
        guard let digits = Self.ggufPreTokenizers[pre] else {
            throw Self.unsupported("pre-tokenizer \(pre.debugDescription) is not supported (\(Self.ggufPreTokenizers.keys.sorted().joined(separator: ", ")))")
        }
        func strings(_ key: String) throws -> [String] {
            guard let a = try gguf.require(key).array else { throw Self.invalid("\(key) is not an array") }
            return try a.enumerated().map { i, v in
                guard let s = v.string else { throw Self.invalid("\(key)[\(i)] is not a string") }
                return s
            }
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let merges = try strings("tokenizer.ggml.merges").enumerated().map { i, m in
            let parts = m.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw Self.invalid("merge \(i) (\(m.debugDescription)) is not two tokens") }
            return (String(parts[0]), String(parts[1]))
        }
        var specials = [SpecialToken]()
        if let types = gguf["tokenizer.ggml.token_type"]?.array {
            guard types.count == tokens.count else { throw Self.invalid("tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens") }
            // 3 = control, 4 = user-defined: both are added tokens, matched before pre-tokenization.
            for (i, t) in types.enumerated() where t.int == 3 || t.int == 4 {
                specials.append(SpecialToken(id: Int32(i), content: tokens[i]))
            }
        }
        try self.init(tokens: tokens, merges: merges, specials: specials, individualDigits: digits)
    }
}
