/// Cuts documents into model-sized windows. Each document is start, its tokens, end
/// (`Tokenizer.document`); a window holds up to
/// T inputs and the T next tokens as targets, consecutive windows overlapping by one token so every
/// token after BOS is predicted exactly once. Short windows are padded (targets -1).
public struct DocumentWindow: Sendable {
    public let document: Int
    /// Position of the first input token in the document's token sequence (the start token is 0).
    public let start: Int
    public let inputs: [Int32]
    public let targets: [Int32]
}

public enum Windows {
    public static let padding: Int32 = -1

    /// Predicted tokens of each document (its tokens and the end token): the rows of `TokenScores.logProbs`.
    public static func predictedTokenCounts(_ corpus: Corpus, tokenizer: Tokenizer) -> [Int] {
        corpus.documents.map { tokenizer.document($0.bytes).count - 1 }
    }

    /// Windows of at most `seqLen` tokens: of exactly that many when a document needs it, else of the
    /// longest document's length. A corpus of short documents is not padded to the model's whole
    /// window (1024 tokens for SmolLM2: 1 KB documents cost 3x the work padded, and attention more).
    /// Every window has the same length, read it from `inputs.count`.
    public static func make(_ corpus: Corpus, tokenizer: Tokenizer, seqLen: Int, maxTokensPerDocument: Int = .max) -> [DocumentWindow] {
        let documents = corpus.documents.map {
            maxTokensPerDocument == .max ? tokenizer.document($0.bytes) : tokenizer.leadingDocumentTokens($0.bytes, count: maxTokensPerDocument)
        }
        let T = max(1, min(seqLen, (documents.map(\.count).max() ?? 2) - 1))
        var out = [DocumentWindow]()
        for (i, toks) in documents.enumerated() {
            var start = 0
            while start + 1 < toks.count {
                let end = min(start + T, toks.count - 1)
                var inp = Array(toks[start..<end]), tgt = Array(toks[start + 1...end])
                let real = inp.count
                if real < T {
                    inp += [Int32](repeating: tokenizer.padding, count: T - real)
                    tgt += [Int32](repeating: padding, count: T - real)
                }
                out.append(DocumentWindow(document: i, start: start, inputs: inp, targets: tgt))
                start = end
            }
        }
        return out
    }
}
