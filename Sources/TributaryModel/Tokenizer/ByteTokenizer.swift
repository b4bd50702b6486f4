/// The built-in models' tokenizer: one token per byte (0...255) plus BOS (256) and EOS (257).
/// Any byte string is valid input, UTF-8 or not.
public enum ByteTokenizer {
    public static let bos = 256
    public static let eos = 257
    public static let vocabSize = 258

    /// Drops BOS/EOS and returns the raw bytes.
    public static func decode<C: Collection>(_ tokens: C) -> [UInt8] where C.Element == Int32 {
        tokens.compactMap { $0 >= 0 && $0 < 256 ? UInt8($0) : nil }
    }
}
