import Foundation
import TributaryCore
import TributaryModel

/// Verbatim extraction as FlexOlmo measured it: prompt with the first 32 tokens of a training
/// document, continue greedily for 32 tokens, and count a hit when the continuation's normalised
/// Levenshtein similarity to the document's true next 32 tokens is at least 0.9 (here over tokens:
/// one edit per differing token, whatever its length).
public enum VerbatimExtraction {
    public struct Result: Sendable {
        public let hits: Int
        public let documents: Int
        public var rate: Double { documents == 0 ? 0 : Double(hits) / Double(documents) }
        public var interval: ClosedRange<Double> { MembershipInference.wilson(hits, max(1, documents)) }
        /// Mean similarity over the documents.
        public let meanSimilarity: Double
    }

    public static func measure(model: Model, documents: Corpus, prefixTokens: Int = 32, continuationTokens: Int = 32,
                               threshold: Double = 0.9, limit: Int = .max) -> Result {
        let t = model.tokenizer
        var hits = 0, n = 0, total = 0.0
        for d in documents.documents where n < limit {
            // The document as training framed it (its leading token, if the tokenizer has one, is in the prefix).
            let tokens = t.document(d.bytes)
            guard tokens.count >= prefixTokens + continuationTokens else { continue }
            let prompt = Array(tokens[0..<prefixTokens])
            let truth = Array(tokens[prefixTokens..<prefixTokens + continuationTokens])
            let got = Generator.generate(model: model, prompt: prompt, maxTokens: continuationTokens, temperature: 0)
            let s = similarity(got, truth)
            total += s
            if s >= threshold { hits += 1 }
            n += 1
        }
        return Result(hits: hits, documents: n, meanSimilarity: n == 0 ? 0 : total / Double(n))
    }

    /// 1 − Levenshtein(a, b) / max(|a|, |b|).
    public static func similarity(_ a: [Int32], _ b: [Int32]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return a.isEmpty && b.isEmpty ? 1 : 0 }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return 1 - Double(previous[b.count]) / Double(max(a.count, b.count))
    }
}
