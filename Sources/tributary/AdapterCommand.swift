import ArgumentParser
import Foundation
import TributaryCommandLine
import TributaryContribution
import TributaryCore
import TributaryModel

struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter", abstract: "LoRA experts as PEFT adapter directories (the field's interchange format).",
        subcommands: [AdapterExportCommand.self, AdapterImportCommand.self])
}

struct AdapterExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a LoRA bundle's expert as a PEFT adapter for the anchor.",
        discussion: """
        Writes OUT/adapter_config.json and OUT/adapter_model.safetensors (PEFT's names for a Llama MLP: \
        PeftModel.from_pretrained(anchor, OUT) applies it) and OUT/router_rows.safetensors (the expert's \
        router rows, which a PEFT adapter has no place for). With --dense-model, also the anchor with the \
        expert as its FFN, materialised exactly as a release holds it (transformers' LlamaForCausalLM).
        """)

    @Option(help: "Bundle directory (from `tributary train --expert-kind lora`).") var bundle: String
    @Option(help: "Anchor directory the expert was trained against.") var anchor: String
    @Option(help: "Output directory for the adapter.") var out: String
    @Option(help: "Also write the anchor with the expert as its FFN here.") var denseModel: String?

    func run() async throws {
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            let c = a.model.config
            let expertFile = try SafetensorsFile(path: bundle + "/" + BundleLayout.expertFile)
            guard expertFile.metadata[BundleLayout.anchorMetadataKey] == a.digest else {
                throw TributaryError("model.shape_mismatch", "the expert was trained against anchor \(expertFile.metadata[BundleLayout.anchorMetadataKey].map { String($0.prefix(16)) } ?? "?")…, \(anchor) is \(a.digest.prefix(16))…")
            }
            let factors = try LoRAFactors(file: expertFile, config: c)
            let rows = try SafetensorsFile(path: bundle + "/" + BundleLayout.routingFile).floats(TensorNames.routerRows)
            try PEFTAdapter.write(factors, routerRows: rows, config: c, to: out)
            print("PEFT adapter written to \(out) (\(factors.shape), layers \(ContributionPolicy.describe(factors.layers)), \(factors.parameterCount) parameters)")
            if let denseModel {
                let expert = try factors.materialised(onto: ExpertWeights(denseFFNOf: a.model, layers: factors.layers), config: c)
                try ModelDirectory.save(ExpertAssembly.dense(sharing: a.model, ffn: expert), to: denseModel)
                print("the anchor with the expert as its FFN written to \(denseModel)")
            }
        }
    }
}

struct AdapterImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a PEFT LoRA adapter for the anchor into a LoRA expert file.",
        discussion: """
        Writes OUT/expert.safetensors (format tributary-expert-lora-v1, for the anchor's digest) and, when \
        the adapter carries them, OUT/router_rows.safetensors. The adapter must target only the MLP's \
        gate_proj, up_proj and down_proj, without DoRA, rsLoRA, biases, per-module ranks or fan-in-fan-out \
        storage: what the protocol's materialisation does not define is refused, not ignored.
        """)

    @Option(help: "PEFT adapter directory.") var adapter: String
    @Option(help: "Anchor directory the adapter was trained on.") var anchor: String
    @Option(help: "Output directory.") var out: String

    func run() async throws {
        try await reportingErrors {
            let a = try AnchorDirectory.load(anchor)
            let c = a.model.config
            let (factors, rows) = try PEFTAdapter.read(adapter, config: c)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var w = SafetensorsWriter(metadata: [BundleLayout.anchorMetadataKey: a.digest])
            factors.add(to: &w, config: c)
            try w.write(to: out + "/" + BundleLayout.expertFile)
            if let rows { try PEFTAdapter.writeRouterRows(rows, config: c, to: out) }
            print("LoRA expert written to \(out)/\(BundleLayout.expertFile) (\(factors.shape), layers \(ContributionPolicy.describe(factors.layers)))"
                  + (rows == nil ? "; the adapter carries no router rows" : "; router rows in \(out)/\(PEFTAdapter.routerRowsFile)"))
        }
    }
}
