import ArgumentParser
import TributaryCore

/// `serve --router-tuning`: the recipe every release's router rows are tuned by (policy, §11.12).
public struct RouterTuningArguments: ParsableArguments, Sendable {
    @Flag(help: "Tune every release's contributed router rows on text sampled from each expert and on the probe's public text (logged, replayed by auditors).")
    public var routerTuning = false
    @Option(help: "Router tuning: proxy samples per expert.") public var routerTuningSamples = RouterTuningRecipe().samplesPerExpert
    @Option(help: "Router tuning: tokens per proxy sample at most.") public var routerTuningSampleTokens = RouterTuningRecipe().sampleTokens
    @Option(help: "Router tuning: optimisation steps.") public var routerTuningSteps = RouterTuningRecipe().steps
    @Option(help: "Router tuning: windows per step.") public var routerTuningBatch = RouterTuningRecipe().batchSize
    @Option(help: "Router tuning: tokens per window.") public var routerTuningSeqLen = RouterTuningRecipe().seqLen
    @Option(help: "Router tuning: learning rate.") public var routerTuningLr = RouterTuningRecipe().learningRate
    @Option(help: "Router tuning: a public batch every this many steps (0: none).") public var routerTuningPublicEvery = RouterTuningRecipe().publicEvery
    @Option(help: "Router tuning: tokens of the probe's public text replayed (and logged with each release).") public var routerTuningPublicTokens = RouterTuningRecipe().publicTokens
    @Option(help: "Router tuning: seed of the samples and the batches.") public var routerTuningSeed = RouterTuningRecipe().seed
    @Option(help: "Router tuning: weight of the routing loss (each proxy token should be routed within {anchor, its own expert}) beside the next-token loss; 0: none.")
    public var routerTuningRoutingWeight = RouterTuningRecipe().routingLossWeight
    @Option(help: "Router tuning: draw this many samples per expert and keep the --router-tuning-samples the signatures place nearest it (0: keep every sample).")
    public var routerTuningCandidates = RouterTuningRecipe().candidatesPerExpert

    public init() {}

    /// The recipe, or nil without --router-tuning (its other options are then refused).
    public func recipe() throws -> RouterTuningRecipe? {
        var r = RouterTuningRecipe()
        r.samplesPerExpert = routerTuningSamples
        r.sampleTokens = routerTuningSampleTokens
        r.steps = routerTuningSteps
        r.batchSize = routerTuningBatch
        r.seqLen = routerTuningSeqLen
        r.learningRate = routerTuningLr
        r.publicEvery = routerTuningPublicEvery
        r.publicTokens = routerTuningPublicTokens
        r.seed = routerTuningSeed
        r.routingLossWeight = routerTuningRoutingWeight
        r.candidatesPerExpert = routerTuningCandidates
        guard routerTuning else {
            guard r == RouterTuningRecipe() else { throw ValidationError("the --router-tuning-* options need --router-tuning") }
            return nil
        }
        try r.validate()
        return r
    }
}
