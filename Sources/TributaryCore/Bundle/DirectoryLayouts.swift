/// The files of the directories the protocol publishes, named once: a model directory (Hugging Face's
/// layout), a release (protocol/SPEC.md §11.5) and an anchor. The server serves exactly these, the
/// exporter and the auditor fetch exactly these.
public enum ModelFiles {
    public static let config = "config.json"
    public static let weights = "model.safetensors"
}

public enum ReleaseLayout {
    public static let manifestFile = "manifest.json"
    public static let routingIndexFile = "routing-index.safetensors"
    /// The files a release manifest gives digests of.
    public static let digestedFiles = [ModelFiles.config, ModelFiles.weights, routingIndexFile]
    public static let allFiles = [manifestFile] + digestedFiles
}

public enum AnchorLayout {
    /// Router rows, embedding centre and public centroids.
    public static let routingFile = "routing.safetensors"
    /// How the anchor was made (informative; not part of its identity).
    public static let summaryFile = "anchor.json"
    /// What the server publishes of its anchor.
    public static let publishedFiles = [ModelFiles.config, ModelFiles.weights, routingFile]
}
