import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a safetensors file's tensors, or a bundle's statement.",
        discussion: "Inspecting does not verify anything; use `tributary verify` for that.")

    @Argument(help: "A .safetensors file or a bundle directory.") var path: String
    @Flag(help: "Machine-readable JSON output.") var json = false
    @Flag(help: "Also compute min, max and L2 norm of every tensor (reads all data).") var stats = false

    func run() async throws {
        try await reportingErrors {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw FileSystemError.posix("open", path, ENOENT)
            }
            if isDir.boolValue { try inspectBundle() } else { try inspectSafetensors() }
        }
    }

    private func inspectSafetensors() throws {
        let file = try SafetensorsFile(path: path)
        var rows: [JSONValue] = []
        var lines: [[String]] = [["name", "dtype", "shape", "bytes"] + (stats ? ["min", "max", "l2"] : [])]
        for t in file.tensors {
            var row: [(String, JSONValue)] = [("name", .string(t.name)), ("dtype", .string(t.dtype.rawValue)),
                                              ("shape", .array(t.shape.map { .int($0) })), ("bytes", .uint64(t.byteCount))]
            var line = [t.name, t.dtype.rawValue, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", String(t.byteCount)]
            if stats, [.F32, .F16, .BF16].contains(t.dtype) {
                let v = try file.floats(t)
                let lo = v.min() ?? 0, hi = v.max() ?? 0
                let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                row += [("min", .double(Double(lo))), ("max", .double(Double(hi))), ("l2", .double(norm))]
                line += [String(format: "%.4g", lo), String(format: "%.4g", hi), String(format: "%.4g", norm)]
            }
            rows.append(.object(row))
            lines.append(line)
        }
        if json {
            let meta = JSONValue.object(file.metadata.keys.sorted().map { ($0, .string(file.metadata[$0]!)) })
            printJSON(.object([("file", .string(path)), ("size", .uint64(file.fileSize)),
                               ("headerLength", .uint64(file.header.headerLength)), ("tensors", .array(rows)),
                               ("metadata", meta)]))
            return
        }
        print("\(path): \(file.tensors.count) tensors, \(file.fileSize) bytes, header \(file.header.headerLength) bytes")
        printTable(lines)
        if !file.metadata.isEmpty {
            print("metadata:")
            for k in file.metadata.keys.sorted() { print("  \(k) = \(file.metadata[k]!)") }
        }
    }

    private func inspectBundle() throws {
        let bytes = try readSmallFile(path + "/" + BundleLayout.statementFile, limit: ContributionBundle.maxSmallFileSize)
        let statement = try InTotoStatement.parse(bytes)
        if json {
            print(String(decoding: bytes, as: UTF8.self))
            return
        }
        print("bundle \(path) (statement not verified; run `tributary verify`)")
        print("predicate type: \(statement.predicateType)")
        for s in statement.subjects { print("subject: \(s.name)  sha256:\(s.sha256)") }
        guard let p = try? ContributionPredicate(json: statement.predicate, type: statement.predicateType) else {
            print("predicate: (does not match the schema)")
            return
        }
        print("organisation:  \(p.organisation) (key \(p.keyID))")
        print("created:       \(p.createdAt)   nonce \(p.nonce)")
        print("anchor:        sha256:\(p.anchorSHA256)")
        print("expert:        \(p.expert.layers) layers, hidden \(p.expert.hiddenSize), intermediate \(p.expert.intermediateSize), \(p.expert.dtype)")
        let pr = p.routing.privacy
        let space = p.routing.space.map { "the anchor's signature space (layer \($0.layer), \($0.dimension) dimensions)" } ?? "the anchor's final state"
        print("routing:       \(p.routing.centroids) centroids in \(space); router rows: \(p.routing.routerRowSource.rawValue)")
        if pr.enabled {
            print("privacy:       (\(pr.epsilon ?? 0), \(pr.delta ?? 0))-DP per \(pr.unit), \(pr.mechanism), \(pr.accountant) accountant, clip \(pr.clipNorm), min cluster \(pr.minClusterSize), \(pr.iterations) iterations")
        } else {
            print("privacy:       DISABLED (--no-dp)")
        }
        let t = p.training
        print("training:      \(t.recipe), \(t.steps) steps, \(t.tokens) tokens, batch \(t.batchSize) x \(t.contextLength), lr \(t.learningRate), seed \(t.seed), final loss \(t.finalLoss)")
        if let d = t.privacy {
            print("DP-SGD:        (\(d.epsilon), \(d.delta))-DP per document for the whole contribution; sampling rate \(d.samplingRate) of \(d.documents) documents, \(d.privateSteps) private steps, clip \(d.clipNorm), noise multiplier \(d.noiseMultiplier)")
        } else {
            print("DP-SGD:        no (the expert weights have no DP guarantee)")
        }
    }
}

/// Prints rows as left-aligned columns.
func printTable(_ rows: [[String]]) {
    guard let width = rows.map(\.count).max() else { return }
    var widths = [Int](repeating: 0, count: width)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    for r in rows {
        print("  " + r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  "))
    }
}
