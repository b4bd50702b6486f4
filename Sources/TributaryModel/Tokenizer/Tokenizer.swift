/// How a model turns text into token ids: the built-in models' one token per byte, or a Hugging
/// Face byte-level BPE tokenizer. Documents are framed the way each model was trained on them.
public enum Tokenizer: Sendable {
    case bytes
    case bpe(BPETokenizer)

    public var vocabSize: Int {
        switch self {
        case .bytes: return ByteTokenizer.vocabSize
        case let .bpe(t): return t.vocabSize
        }
    }

    /// The token between documents, also the first input of each: BOS for the byte models,
    /// `<|endoftext|>` for BPE models (what GPT-2-family models separate training documents with).
    public var documentStart: Int32 {
        switch self {
        case .bytes: return Int32(ByteTokenizer.bos)
        case let .bpe(t): return t.documentBoundary
        }
    }

    /// The token a document ends with (predicted, so it counts in bits per byte): EOS, or `<|endoftext|>`.
    public var documentEnd: Int32 {
        switch self {
        case .bytes: return Int32(ByteTokenizer.eos)
        case let .bpe(t): return t.documentBoundary
        }
    }

    /// The tokens of a document its embedding and layer directions read (protocol/SPEC.md §6.1): 2,048
    /// with the byte tokenizer (2 KB of text); 256 with BPE, about 1 KB. A pretrained anchor costs
    /// ~160x the byte model per token and signatures read every private document (and every routing
    /// query), so a document's first kilobyte is what it costs to describe it.
    public var embeddingTokens: Int {
        switch self {
        case .bytes: return 2048
        case .bpe: return 256
        }
    }

    /// A harmless input for padded positions (their targets are -1, so nothing reads them).
    public var padding: Int32 { documentEnd }

    /// The ids of text, no framing. Bytes that are not UTF-8 are read with U+FFFD replacement (BPE).
    public func encode(_ bytes: some Collection<UInt8>) -> [Int32] {
        switch self {
        case .bytes: return bytes.map { Int32($0) }
        case let .bpe(t): return t.encode(bytes: bytes)
        }
    }

    /// A document as the model sees it: start token, the text's ids, end token. Evaluation,
    /// training and embeddings read documents so, and generation continues `documentPrefix`.
    public func document(_ bytes: some Collection<UInt8>) -> [Int32] {
        documentPrefix(bytes) + [documentEnd]
    }

    /// The beginning of a document: start token and the text's ids, what generation continues (until
    /// the model predicts `documentEnd`). One framing for evaluation and generation on every model:
    /// the byte models see BOS and bytes, BPE models `<|endoftext|>` and BPE ids.
    public func documentPrefix(_ bytes: some Collection<UInt8>) -> [Int32] {
        [documentStart] + encode(bytes)
    }

    /// The first `count` tokens of `document(bytes)`, reading only the bytes `count` tokens can span
    /// (`maxTokenBytes` each): what embeddings read of a document or a routing query, without
    /// tokenizing megabytes of it first. Equal to `document(bytes).prefix(count)` unless the pre-token
    /// that holds token `count` runs past the cut (a single word of thousands of bytes); owners,
    /// anchors and the server all read documents through here, so routing stays consistent even then.
    public func leadingDocumentTokens(_ bytes: some Collection<UInt8>, count: Int) -> [Int32] {
        let (span, overflow) = count.multipliedReportingOverflow(by: maxTokenBytes)
        if overflow || bytes.count <= span { return Array(document(bytes).prefix(count)) }
        return Array(documentPrefix(bytes.prefix(span)).prefix(count))
    }

    /// The most bytes one token stands for: 1 for the byte models, the longest vocabulary entry for BPE.
    public var maxTokenBytes: Int {
        switch self {
        case .bytes: return 1
        case let .bpe(t): return t.maxTokenBytes
        }
    }

    /// The bytes of ids (special tokens and framing dropped).
    public func decode(_ ids: some Sequence<Int32>) -> [UInt8] {
        switch self {
        case .bytes: return ByteTokenizer.decode(Array(ids))
        case let .bpe(t): return t.decodeBytes(ids)
        }
    }

    public var isBytes: Bool { if case .bytes = self { return true } else { return false } }
}
