import Foundation
import TributaryCore

/// Held-out bits per byte of each model variant on each domain: the demo's evaluation table.
public struct EvaluationTable: Sendable {
    public struct Row: Sendable {
        public let label: String
        /// How the row's model was made, one line.
        public let note: String
        public let bitsPerByte: [Double]
    }

    public let domains: [String]
    public var rows: [Row] = []

    public init(domains: [String]) { self.domains = domains }

    public func row(_ label: String) -> Row? { rows.first { $0.label == label } }

    public func value(_ label: String, _ domain: String) -> Double? {
        guard let r = row(label), let d = domains.firstIndex(of: domain) else { return nil }
        return r.bitsPerByte[d]
    }

    public var text: String {
        let width = max(28, (rows.map(\.label.count).max() ?? 0) + 2)
        var lines = ["held-out bits per byte (lower is better)",
                     "".padding(toLength: width, withPad: " ", startingAt: 0) + domains.map { $0.leftPadded(11) }.joined()]
        for r in rows {
            lines.append(r.label.padding(toLength: width, withPad: " ", startingAt: 0) + r.bitsPerByte.map { String(format: "%.3f", $0).leftPadded(11) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    public var markdown: String {
        var lines = ["| model | " + domains.joined(separator: " | ") + " |", "|---|" + domains.map { _ in "---:|" }.joined()]
        for r in rows { lines.append("| \(r.label) | " + r.bitsPerByte.map { String(format: "%.3f", $0) }.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([("domains", .array(domains.map { .string($0) })),
                 ("rows", .array(rows.map { r in
                     .object([("label", .string(r.label)), ("note", .string(r.note)),
                              ("bitsPerByte", .object(zip(domains, r.bitsPerByte).map { ($0, .double($1)) }))])
                 }))])
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
