import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryContribution
import TributaryCore

extension GGUFExport.Encoding: ExpressibleByArgument {}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model directory (an anchor or a release) in another runtime's format: GGUF for llama.cpp.",
        discussion: """
        GGUF: llama.cpp's `llama` architecture; a release's experts stacked per layer (ffn_*_exps) with \
        its router rows as ffn_gate_inp, every layer a mixture as in the safetensors release; the BPE \
        tokenizer and the chat template in the metadata. Norms and routers stay F32; other matrices \
        take --type (Q8_0 falls back to F16 for rows that are not whole blocks of 32).
        """)

    @Option(help: "Output format (gguf).") var format = "gguf"
    @Option(help: "Model directory: an anchor, a release (fetch-release) or any model Tributary wrote.") var model: String
    @Option(help: "Output file.") var out: String
    @Option(help: "Encoding of the matrices: f32, f16 or q8_0.") var type = GGUFExport.Encoding.f32
    @Option(help: "general.name in the file (default: the directory's name).") var name: String?
    @Option(help: "Directory whose tokenizer_config.json holds the chat template (default: the model's; a release's anchor has one).")
    var chatTemplateFrom: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard format == "gguf" else { throw TributaryError("export.unsupported_format", "--format \(format.debugDescription): only gguf is written (safetensors releases are what the server publishes)") }
            guard !FileManager.default.fileExists(atPath: out) else { throw TributaryError("export.exists", "\(out) already exists; choose a new file") }
            let start = Date()
            let s = try GGUFExport.write(modelDirectory: model, to: out, encoding: type, name: name ?? URL(fileURLWithPath: model).lastPathComponent,
                                         chatTemplateFrom: chatTemplateFrom) { done, total in
                if !json, done % 25 == 0 || done == total { FileHandle.standardError.write(Data("\rtensors \(done)/\(total)".utf8)) }
            }
            if !json { FileHandle.standardError.write(Data("\n".utf8)) }
            let seconds = Date().timeIntervalSince(start)
            if json {
                printJSON(.object([("out", .string(out)), ("type", .string(type.rawValue)), ("tensors", .int(s.tensors)),
                                   ("experts", .int(s.experts)), ("bytes", .uint64(s.bytes)), ("seconds", .double(seconds))]))
            } else {
                print("\(out): GGUF \(type.rawValue), \(s.tensors) tensors" + (s.experts > 0 ? ", \(s.experts) experts per layer" : "")
                      + ", \(s.bytes >> 20) MiB in " + String(format: "%.1f s", seconds))
            }
        }
    }
}
