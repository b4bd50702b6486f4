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
        var out = [Sample]()
        for (domain, corpus) in heldOut {
            for doc in corpus.documents.prefix(perDomain) where doc.bytes.count > promptBytes + 40 {
                let cut = lineEnd(doc.bytes, within: promptBytes)
                let prompt = Array(doc.bytes[..<cut])
                let truth = Array(doc.bytes[cut...].prefix(160))
                out.append(Sample(domain: domain, prompt: text(prompt), truth: text(truth),
                                  anchor: text(continuation(anchor, prompt)), combined: text(continuation(combined, prompt))))
            }
        }
        log(String(format: "continued %d held-out beginnings with the anchor and the release: %.1f s", out.count, Date().timeIntervalSince(t0)))
        return out
    }

    static func continuation(_ model: Model, _ prompt: [UInt8]) -> [UInt8] {
        Generator.continuation(model: model, text: prompt, maxTokens: generatedTokens, temperature: 0)
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
