import Foundation
import TributaryModel

/// What the contributions changed, for a person to read: the beginning of held-out documents,
/// continued greedily by the anchor and by the released model (routed by its router rows, as any
/// Mixtral runtime runs it), next to what the document really says.
public enum DemoSamples {
    public struct Sample: Sendable {
        public let domain: String
        public let prompt: String
        public let truth: String
        public let anchor: String
        public let combined: String
    }

    /// Prompt bytes (cut at a line end) and tokens generated per sample.
    static let promptBytes = 240
    static let generatedTokens = 40

    public static func `continue`(_ heldOut: [(domain: String, corpus: Corpus)], perDomain: Int, anchor: Model, combined: Model,
                                  log: (String) -> Void = { _ in }) -> [Sample] {
        let t0 = Date()
        var chosen = [(domain: String, prompt: [UInt8], truth: [UInt8])]()
        for (domain, corpus) in heldOut {
            for doc in corpus.documents.prefix(perDomain) where doc.bytes.count > promptBytes + 40 {
                let cut = lineEnd(doc.bytes, within: promptBytes)
                chosen.append((domain, Array(doc.bytes[..<cut]), Array(doc.bytes[cut...].prefix(160))))
            }
        }
        // Every beginning decoded together, once per model (one pass per token for all of them).
        let prompts = chosen.map(\.prompt)
        let byAnchor = continuations(anchor, prompts), byRelease = continuations(combined, prompts)
        let out = chosen.indices.map { i in
            Sample(domain: chosen[i].domain, prompt: text(chosen[i].prompt), truth: text(chosen[i].truth),
                   anchor: text(byAnchor[i]), combined: text(byRelease[i]))
        }
        log(String(format: "continued %d held-out beginnings with the anchor and the release: %.1f s", out.count, Date().timeIntervalSince(t0)))
        return out
    }

    static func continuations(_ model: Model, _ prompts: [[UInt8]]) -> [[UInt8]] {
        Generator.continuationIDs(model: model, texts: prompts, maxTokens: generatedTokens, temperature: 0, seeds: prompts.map { _ in 1 })
            .map { model.tokenizer.decode($0) }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
