/// llama.cpp's converter permutes the rows of q and k within each head so that RoPE rotates adjacent
/// pairs (GPT-J style); transformers rotates the two halves of a head. Row r of a head in llama.cpp's
/// order is row (r & 1)·D/2 + r/2 of that head in transformers' order. The one place that rule lives:
/// importing a GGUF anchor and exporting a GGUF release go through it in opposite directions.
enum LlamaCppRowOrder {
    enum Order { case transformers, llamaCpp }

    /// The transformers row, within the whole matrix, of llama.cpp's row `r` (heads of `D` rows).
    static func transformersRow(_ r: Int, headDim D: Int) -> Int {
        let h = r / D, k = r % D
        return h * D + (k & 1) * (D / 2) + (k >> 1)
    }

    /// `w` [rows, cols] (row-major) re-ordered into `order` from the other one.
    static func permute(_ w: [Float], rows: Int, cols: Int, headDim D: Int, to order: Order) -> [Float] {
        var out = [Float](repeating: 0, count: w.count)
        for r in 0..<rows {
            let t = transformersRow(r, headDim: D)
            let (from, to) = order == .transformers ? (r, t) : (t, r)
            out.replaceSubrange(to * cols..<(to + 1) * cols, with: w[from * cols..<(from + 1) * cols])
        }
        return out
    }
}
