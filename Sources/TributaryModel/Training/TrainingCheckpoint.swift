import Foundation
import TributaryCore

/// A training checkpoint (not the transparency log's signed `Checkpoint`): the trainable weights,
/// AdamW's moments and the loss history, as one safetensors file (`step-NNNNNNNN.safetensors`).
/// Frozen weights are not saved: they come from the same base on resume, which the fingerprint
/// guarantees.
public struct TrainingCheckpoint: Sendable {
    public let step: Int
    public let fingerprint: String
    public let trainable: [Float]
    public let m: [Float], v: [Float]
    public let losses: [Double]
}

public struct TrainingCheckpointStore: Sendable {
    public let directory: String
    public let keep: Int

    public init(directory: String, keep: Int) {
        self.directory = directory
        self.keep = keep
    }

    func path(_ step: Int) -> String { directory + "/step-" + String(format: "%08d", step) + ".safetensors" }

    public func save(_ c: TrainingCheckpoint) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var w = SafetensorsWriter(metadata: [
            "tributary.checkpoint.step": String(c.step),
            "tributary.checkpoint.fingerprint": c.fingerprint,
            "tributary.checkpoint.losses": JSONWriter.string(.array(c.losses.map { .double($0.isFinite ? $0 : 0) })),
        ])
        w.add("trainable", shape: [c.trainable.count], values: c.trainable)
        w.add("adamw.m", shape: [c.m.count], values: c.m)
        w.add("adamw.v", shape: [c.v.count], values: c.v)
        try w.write(to: path(c.step))
        // Drop the oldest beyond `keep`, only after the new one is durable.
        let old = try steps().dropLast(keep)
        for s in old { try? FileManager.default.removeItem(atPath: path(s)) }
    }

    func steps() throws -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("step-"), n.hasSuffix(".safetensors") else { return nil }
            return Int(n.dropFirst(5).dropLast(12))
        }.sorted()
    }

    /// The newest checkpoint, if it belongs to the run with `fingerprint`; a checkpoint from another
    /// run is an error rather than silently ignored or overwritten.
    public func latest(fingerprint: String) throws -> TrainingCheckpoint? {
        guard let step = try steps().last else { return nil }
        let file = try SafetensorsFile(path: path(step))
        guard file.metadata["tributary.checkpoint.fingerprint"] == fingerprint else {
            throw TributaryError("train.checkpoint_mismatch",
                                 "\(directory) holds checkpoints of a different run (other data, anchor or options); use --restart to discard them")
        }
        var losses = [Double]()
        if let text = file.metadata["tributary.checkpoint.losses"], case let .array(items) = try StrictJSONParser.parse(Array(text.utf8)) {
            losses = items.compactMap { if case let .number(t) = $0 { return Double(t) } else { return nil } }
        }
        return TrainingCheckpoint(step: step, fingerprint: fingerprint, trainable: try file.floats("trainable"),
                          m: try file.floats("adamw.m"), v: try file.floats("adamw.v"), losses: losses)
    }

    public func clear() {
        for s in (try? steps()) ?? [] { try? FileManager.default.removeItem(atPath: path(s)) }
    }
}
