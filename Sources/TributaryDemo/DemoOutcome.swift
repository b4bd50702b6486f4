import TributaryHarness

/// What happened, for the report and for tests.
public struct DemoOutcome: Sendable {
    public struct Contribution: Sendable {
        public let organisation: String
        public let domain: String
        public let logIndex: UInt64
        public let trainingSeconds: Double
        /// "full expert" or "LoRA rank r".
        public var kind = "full expert"
        /// Its expert came from the cache of an earlier run (`OwnerCache`), not from training now.
        public var reused = false
        /// The ε of everything it uploaded when its expert was trained with DP-SGD; nil when only its
        /// signature is DP.
        public var dpSGDEpsilon: Double? = nil
    }
    /// A DP-SGD owner's leakage audit of its own model (anchor + expert) before it uploaded.
    public struct LeakageAudit: Sendable {
        public let organisation: String
        public let epsilon: Double
        public let members: Int
        public let nonMembers: Int
        public let auc: Double
        public let aucInterval: ClosedRange<Double>
        public let tprAt1Percent: Double
        public let tprAt1PercentInterval: ClosedRange<Double>
        /// Per canary: how often it was planted, its exposure under the model and under the anchor alone (bits).
        public let exposures: [(repetitions: Int, exposure: Double, anchorExposure: Double)]
        public let candidates: Int
        public let seconds: Double
    }
    public var leakageAudits: [LeakageAudit] = []
    public var contributions: [Contribution] = []
    /// Release number → organisations of its experts (after the anchor), in order.
    public var releases: [(number: Int, organisations: [String], tuning: String)] = []
    public var audits: [(afterRelease: Int, logSize: UInt64, checks: Int)] = []
    public var stageSeconds: [(stage: String, seconds: Double)] = []
    public var anchorCached = false
    public var table: EvaluationTable?
    /// Held-out beginnings continued by the anchor and by the released model.
    public var samples: [DemoSamples.Sample] = []
    /// The corpora's digests and packages (what makes the table reproducible elsewhere).
    public var corpora: [DemoCorpora.Digest] = []
    public var serverURL = ""
    /// Held-out text routed through `/v1/route` after the first release.
    public var routing: DemoRoutingCheck?
}
