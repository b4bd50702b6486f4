import TributaryCore

/// One thing an audit found wrong, with a stable code and where it is.
public struct AuditFinding: Sendable, Equatable {
    public let code: String
    public let message: String
    /// Log index of the entry concerned, when there is one.
    public let entry: UInt64?

    public init(_ code: String, _ message: String, entry: UInt64? = nil) {
        self.code = code
        self.message = message
        self.entry = entry
    }
}

public enum AuditFailure: CodedError {
    case source(String)
    public var code: String { "audit.source" }
    public var message: String {
        switch self { case let .source(m): return "cannot read the log: \(m)" }
    }
}

/// What an audit checked and found.
public struct AuditReport: Sendable {
    public var source = ""
    public var checkpointSize: UInt64 = 0
    /// Seconds since the checkpoint's time (from its witness cosignatures), when a witness policy was given.
    public var checkpointAgeSeconds: Int64?
    public var previousSize: UInt64?
    public var newEntries: UInt64 = 0
    public var policies = 0, enrolments = 0, rotations = 0, keyRevocations = 0, contributions = 0, revocations = 0, takedowns = 0, releases = 0
    public var releasesVerifiedDeeply: [Int] = []
    public var tensorsCompared = 0
    public var checks: [String] = []
    public var findings: [AuditFinding] = []

    public var passed: Bool { findings.isEmpty }

    mutating func check(_ text: String) { checks.append(text) }
    mutating func fail(_ code: String, _ message: String, entry: UInt64? = nil) {
        findings.append(AuditFinding(code, message, entry: entry))
    }

    public var text: String {
        var lines = ["audit of \(source): log size \(checkpointSize)" + (previousSize.map { " (previously \($0), \(newEntries) new entries)" } ?? " (first audit)")]
        lines += checks.map { "  ok    " + $0 }
        lines += findings.map { "  FAIL  [\($0.code)] " + ($0.entry.map { "entry \($0): " } ?? "") + $0.message }
        lines.append(passed ? "VERIFIED: every check passed" : "NOT VERIFIED: \(findings.count) problem(s)")
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            ("verified", .bool(passed)), ("source", .string(source)), ("logSize", .uint64(checkpointSize)),
            ("previousSize", previousSize.map { .uint64($0) } ?? .null), ("newEntries", .uint64(newEntries)),
            ("checkpointAgeSeconds", checkpointAgeSeconds.map { .int(Int($0)) } ?? .null),
            ("counts", .object([("policies", .int(policies)), ("enrolments", .int(enrolments)), ("keyRotations", .int(rotations)),
                                ("keyRevocations", .int(keyRevocations)), ("contributions", .int(contributions)),
                                ("contributionRevocations", .int(revocations)), ("takedowns", .int(takedowns)),
                                ("releases", .int(releases))])),
            ("releasesVerifiedDeeply", .array(releasesVerifiedDeeply.map { .int($0) })),
            ("tensorsCompared", .int(tensorsCompared)),
            ("checks", .array(checks.map { .string($0) })),
            ("findings", .array(findings.map { f in
                .object([("code", .string(f.code)), ("message", .string(f.message)), ("entry", f.entry.map { .uint64($0) } ?? .null)])
            })),
        ])
    }
}
