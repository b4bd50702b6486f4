import ArgumentParser
import TributaryCore

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Privacy-preserving federated expert contributions: train, sign, submit, serve, audit.",
        discussion: "Benchmarks, drills and research evaluations are in the separate `tributary-dev` executable.",
        subcommands: [
            KeygenCommand.self, SignCommand.self, VerifyCommand.self, InspectCommand.self,
            AnchorCommand.self, TrainCommand.self, ContributeCommand.self, EvalCommand.self, GenerateCommand.self, TokenizeCommand.self, RouteCommand.self,
            ServeCommand.self, AdminCommand.self, SubmitCommand.self, RevokeCommand.self, VerifyInclusionCommand.self,
            AuditCommand.self, FetchReleaseCommand.self, ExportCommand.self, LogCommand.self, WitnessCommand.self, DemoCommand.self, AdapterCommand.self, PrivacyAuditCommand.self,
        ])
}
