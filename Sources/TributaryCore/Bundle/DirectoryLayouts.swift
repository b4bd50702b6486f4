import Foundation

/// The files of the directories the protocol publishes, named once: a model directory (Hugging Face's
/// layout), a release (protocol/SPEC.md §11.5) and an anchor. The server serves exactly these, the
/// exporter and the auditor fetch exactly these.
public enum ModelFiles {
    public static let config = "config.json"
    public static let weights = "model.safetensors"
    /// Hugging Face tokenizer (absent for the built-in byte-level models).
    public static let tokenizer = "tokenizer.json"
    /// Everything that changes a model's outputs, hence its identity: config, weights, tokenizer.
    public static let identityFiles = [config, weights, tokenizer]

    /// Tributary's key in a Mixtral config.json naming the layers that really hold experts:
    /// transformers' Mixtral has an MoE block in every layer, so in the others every expert is a copy
    /// of the dense MLP. Absent: every layer holds experts.
    public static let expertLayersKey = "tributary_expert_layers"

    /// Whether `layers` can be a model's expert layers: non-empty, distinct, ascending, within 0..<L.
    public static func isExpertLayerSet(_ layers: [Int], numLayers L: Int) -> Bool {
        ModelBounds.isLayerSet(layers, below: L)
    }

    /// A model directory's identity (the anchor digest of every statement, manifest and check):
    /// SHA-256 over one line `name sha256hex\n` per identity file, in `identityFiles` order; the
    /// tokenizer's line only when the directory has one. Config and weights must exist.
    public static func identity(of dir: String, also extra: [String] = []) throws -> String {
        var lines = ""
        for name in identityFiles + extra {
            let path = dir + "/" + name
            if name == tokenizer && !FileManager.default.fileExists(atPath: path) { continue }
            lines += name + " " + Hex.encode(try SHA256.digest(fileAt: path, noFollow: false).digest) + "\n"
        }
        return Hex.encode(SHA256.digest(Array(lines.utf8)))
    }
}

public enum ReleaseLayout {
    public static let manifestFile = "manifest.json"
    public static let routingIndexFile = "routing-index.safetensors"
    /// A tuned release's record of its router tuning (§11.12): the token ids it ran on and the tuned
    /// rows. Small, and kept when the model files are pruned: rebuilding the release needs its rows.
    public static let routerTuningFile = "router-tuning.safetensors"
    /// The files a release manifest gives digests of (the tokenizer when the anchor has one, the
    /// router-tuning record when the release was tuned).
    public static let digestedFiles = [ModelFiles.config, ModelFiles.weights, ModelFiles.tokenizer, routingIndexFile, routerTuningFile]
    /// The digested files pruning removes (the model's); the manifest and the tuning record stay.
    public static let prunedFiles = [ModelFiles.config, ModelFiles.weights, ModelFiles.tokenizer, routingIndexFile]
    /// Those every release has.
    public static let requiredFiles = [ModelFiles.config, ModelFiles.weights, routingIndexFile]
    /// OpenSSF model signing's signature over every other file, the manifest included
    /// (`ModelSigningSignature`): present when the operator holds a release key (`--release-signing-key`).
    public static let modelSignatureFile = ModelSigningSignature.fileName
    /// Files a release may lack: the tokenizer (byte-level anchors), the router-tuning record (untuned
    /// releases) and the model signature.
    public static let optionalFiles: Set<String> = [ModelFiles.tokenizer, routerTuningFile, modelSignatureFile]
    public static let allFiles = [manifestFile] + digestedFiles + [modelSignatureFile]
}

public enum AnchorLayout {
    /// Router rows, the signature space (or, before spaces, the embedding centre) and public centroids.
    public static let routingFile = "routing.safetensors"
    /// How the anchor was made (informative; not part of its identity).
    public static let summaryFile = "anchor.json"
    /// What the server publishes of its anchor (the tokenizer when it has one).
    public static let publishedFiles = [ModelFiles.config, ModelFiles.weights, ModelFiles.tokenizer, routingFile]
    /// Files an anchor may lack: the built-in byte-level models have no tokenizer file.
    public static let optionalFiles: Set<String> = [ModelFiles.tokenizer]

    /// An anchor's identity: its model's (`ModelFiles.identity`), and its routing file's digest too when
    /// that file holds a signature space — where every routing signature lives, so a statement naming
    /// the anchor names the space. Anchors made before signature spaces keep the model's identity, so
    /// their logs audit as they did.
    public static func identity(of dir: String) throws -> String {
        let routing = dir + "/" + routingFile
        guard FileManager.default.fileExists(atPath: routing),
              (try? SafetensorsFile(path: routing))?.tensors.contains(where: { $0.name == TensorNames.signatureProjection }) == true else {
            return try ModelFiles.identity(of: dir)
        }
        return try ModelFiles.identity(of: dir, also: [routingFile])
    }
}
