import Foundation

/// Progress for long jobs: one rewritten status line on a terminal, plain log lines otherwise
/// (at most every `interval` seconds, plus the last), so logs stay readable when piped to a file.
public final class ProgressReporter: @unchecked Sendable {
    let label: String
    let isTerminal: Bool
    let interval: Double
    let quiet: Bool
    private var lastPrint = 0.0
    private let start = ProgressReporter.now()

    public init(label: String, interval: Double = 5, quiet: Bool = false, forcePlain: Bool = false) {
        self.label = label
        self.interval = interval
        self.quiet = quiet
        isTerminal = !forcePlain && isatty(STDERR_FILENO) != 0
    }

    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    public var elapsed: Double { Self.now() - start }

    /// `fields` are printed after "label step/total", e.g. ["loss 2.31", "24,100 tok/s"].
    public func update(step: Int, total: Int, fields: [String]) {
        guard !quiet else { return }
        let t = Self.now()
        let done = step >= total
        let eta = step > 0 ? (t - start) / Double(step) * Double(total - step) : 0
        let line = "\(label) \(step)/\(total)  " + fields.joined(separator: "  ") + (done ? "" : "  ETA \(Self.duration(eta))")
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (done ? "\n" : "")).utf8))
        } else if done || t - lastPrint >= interval {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            lastPrint = t
        }
    }

    public func log(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }

    public static func duration(_ s: Double) -> String {
        let x = Int(s.rounded())
        if x >= 3600 { return "\(x / 3600)h\(String(format: "%02d", x % 3600 / 60))m" }
        if x >= 60 { return "\(x / 60)m\(String(format: "%02d", x % 60))s" }
        return "\(x)s"
    }

    public static func thousands(_ v: Double) -> String {
        let n = Int(v.rounded())
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}
