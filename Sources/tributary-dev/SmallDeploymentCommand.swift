import ArgumentParser
import TributaryCommandLine
import Foundation
import TributaryCore
import TributaryDevTools

/// Writes a small, real deployment for scripts (the API fuzzer, manual tries): a tiny anchor, probe
/// text, the operator's key, and per organisation a key and an unsigned bundle.
struct SmallDeploymentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "small-deployment",
        abstract: "Write a tiny anchor, probe text, keys and unsigned bundles into DIR (what the server tests run against).",
        discussion: """
        DIR/anchor, DIR/probe, DIR/keys/{operator,ORG}.{key,pub}, DIR/bundles/ORG/{expert,routing}.safetensors. \
        Sign a bundle with `tributary sign DIR/bundles/ORG --key DIR/keys/ORG.key --origin ORIGIN`.
        """)
    @Option(help: "Output directory.") var out: String
    @Option(parsing: .upToNextOption, help: "Organisations (each trains on one of the demo's private domains in turn).") var organisations = ["acme", "globex"]

    func run() async throws {
        prepareCompute()
        try await reportingErrors {
            let domains = ["linux-uapi", "perl", "locales"]
            let d = try SmallDeployment.build(work: out, organisations: organisations.enumerated().map { ($1, domains[$0 % domains.count]) })
            let keys = out + "/keys"
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            func save(_ key: SigningKey) throws {
                try AtomicFileWriter.write(Array((key.encodedPrivateKey() + "\n").utf8), to: keys + "/\(key.name).key", mode: 0o600)
                try AtomicFileWriter.write(Array((key.verifierKey.encoded + "\n").utf8), to: keys + "/\(key.name).pub")
            }
            try save(d.operatorKey)
            for (name, o) in d.organisations.sorted(by: { $0.key < $1.key }) {
                try save(o.key)
                let dir = out + "/bundles/" + name
                try? FileManager.default.removeItem(atPath: dir)
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for f in BundleLayout.subjectFiles { try FileManager.default.copyItem(atPath: o.unsignedBundle + "/" + f, toPath: dir + "/" + f) }
            }
            print("anchor \(d.anchor), probe \(d.probe.joined(separator: " ")), keys in \(keys), bundles in \(out)/bundles")
        }
    }
}
