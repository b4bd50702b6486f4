/// The pre-tokenizer of GPT-2-style byte-level BPE, as Hugging Face `tokenizers` runs it with
/// `Sequence[Digits(individual_digits), ByteLevel(use_regex)]`: every digit becomes a piece of its
/// own, then each piece is split by GPT-2's pattern, matched on Unicode scalars:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// Written as a scanner rather than a regex engine: the same leftmost-first alternation, in one pass.
public struct PreTokenizer: Sendable {
    /// Split every decimal digit into its own piece first (SmolLM2, Llama 3 do).
    public var individualDigits: Bool

    public init(individualDigits: Bool) { self.individualDigits = individualDigits }

    enum Class { case letter, number, space, other }

    @inline(__always) static func classify(_ s: Unicode.Scalar) -> Class {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// A digit as the Digits pre-tokenizer sees it: Rust's `char::is_numeric`, every Unicode number
    /// (Nd, Nl, No: `١`, `²` and `½` too), not only 0-9.
    @inline(__always) static func isDigit(_ s: Unicode.Scalar) -> Bool { classify(s) == .number }

    /// The pieces of `text` as ranges of its scalar array.
    public func split(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var out = [Range<Int>]()
        out.reserveCapacity(text.count / 3 + 1)
        guard individualDigits else {
            Self.gpt2(text, 0..<text.count, into: &out)
            return out
        }
        var start = 0
        for i in text.indices where Self.isDigit(text[i]) {
            if start < i { Self.gpt2(text, start..<i, into: &out) }
            out.append(i..<i + 1)
            start = i + 1
        }
        if start < text.count { Self.gpt2(text, start..<text.count, into: &out) }
        return out
    }

    /// GPT-2's pattern over `r`, appending each match.
    static func gpt2(_ t: [Unicode.Scalar], _ r: Range<Int>, into out: inout [Range<Int>]) {
        var i = r.lowerBound
        let end = r.upperBound
        while i < end {
            let c = t[i]
            // Contractions: 's 't 're 've 'm 'll 'd (case-sensitive, as the pattern is).
            if c == "'" && i + 1 < end {
                let a = t[i + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" {
                    out.append(i..<i + 2); i += 2; continue
                }
                if i + 2 < end {
                    let b = t[i + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        out.append(i..<i + 3); i += 3; continue
                    }
                }
            }
            // An optional single space, then a run of letters, numbers, or other non-space.
            var j = i
            if c == " " && i + 1 < end && classify(t[i + 1]) != .space { j = i + 1 }
            let cls = classify(t[j])
            if cls != .space {
                var k = j + 1
                while k < end && classify(t[k]) == cls { k += 1 }
                out.append(i..<k); i = k; continue
            }
            // Whitespace: \s+(?!\S) — the run, but leave its last scalar when a non-space follows
            // (it then prefixes the next word); otherwise \s+ — the whole run.
            var k = i + 1
            while k < end && classify(t[k]) == .space { k += 1 }
            if k < end && k - i > 1 { k -= 1 }
            out.append(i..<k); i = k
        }
    }
}
