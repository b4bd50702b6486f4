import Foundation
import TributaryCore

/// ChatML, the chat format of SmolLM2's instruct models (and Qwen's): each message is
/// `<|im_start|>{role}\n{content}<|im_end|>\n`, and the assistant's turn starts with
/// `<|im_start|>assistant\n`. This engine does not run Jinja: it recognises ChatML by its two special
/// tokens, and takes the default system message from the model's `tokenizer_config.json`
/// `chat_template` when it has one (SmolLM2's adds one when the conversation has none).
public struct ChatTemplate: Sendable {
    /// Where Hugging Face keeps a model's chat template.
    public static let configFile = "tokenizer_config.json"
    public let tokenizer: BPETokenizer
    public let start: Int32, end: Int32
    public var defaultSystem: String?

    public init?(tokenizer: BPETokenizer, defaultSystem: String? = nil) {
        guard let s = tokenizer.id(of: "<|im_start|>"), let e = tokenizer.id(of: "<|im_end|>") else { return nil }
        self.tokenizer = tokenizer
        start = s
        end = e
        self.defaultSystem = defaultSystem
    }

    /// The token ids of a conversation of one user message, up to the assistant's turn.
    public func prompt(user: String, system: String? = nil) -> [Int32] {
        var text = ""
        if let sys = system ?? defaultSystem { text += "<|im_start|>system\n\(sys)<|im_end|>\n" }
        text += "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        return tokenizer.encode(text)
    }

    /// The default system message a Jinja ChatML template inserts, if it has one: the text between
    /// `'<|im_start|>system\n` and `<|im_end|>` in the template source.
    public static func defaultSystemMessage(inTemplate template: String) -> String? {
        guard let a = template.range(of: "<|im_start|>system\\n"), let b = template.range(of: "<|im_end|>", range: a.upperBound..<template.endIndex) else {
            return nil
        }
        let s = String(template[a.upperBound..<b.lowerBound])
        return s.contains("{") || s.contains("'") ? nil : s
    }

    /// `tokenizer_config.json` next to a model, when it holds a ChatML template.
    public static func load(modelDirectory dir: String, tokenizer: BPETokenizer) -> ChatTemplate? {
        guard var t = ChatTemplate(tokenizer: tokenizer) else { return nil }
        if let bytes = try? readSmallFile(dir + "/" + configFile, limit: 1 << 22, noFollow: false),
           let json = try? StrictJSONParser.parse(bytes), let template = json["chat_template"]?.stringValue {
            t.defaultSystem = defaultSystemMessage(inTemplate: template)
        }
        return t
    }
}
