import Foundation
import TributaryCore

/// Distinct, valid contribution bundles from one trained bundle: each copy nudges one expert weight by
/// a tiny amount (so its digest differs and the server does not see a duplicate) and is signed anew.
/// For load and fault drills, which need many uploads.
public struct BundleFactory: Sendable {
    public let base: String
    public let key: SigningKey
    public let work: String
    /// The log origin of the deployment the bundles are for.
    public let origin: String

    public init(base: String, key: SigningKey, work: String, origin: String) {
        self.base = base
        self.key = key
        self.work = work
        self.origin = origin
    }

    public func make(_ n: Int) throws -> String {
        let dir = work + "/\(key.name)-\(n)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = try SafetensorsFile(path: base + "/" + BundleLayout.expertFile)
        var w = SafetensorsWriter(metadata: source.metadata)
        for (i, t) in source.tensors.enumerated() {
            var v = try source.floats(t)
            if i == 0 { v[n % v.count] += Float(n + 1) * 1e-6 }
            w.add(t.name, shape: t.shape, values: v)
        }
        try w.write(to: dir + "/" + BundleLayout.expertFile)
        try FileManager.default.copyItem(atPath: base + "/" + BundleLayout.routingFile, toPath: dir + "/" + BundleLayout.routingFile)
        try ContributionBundle.sign(directory: dir, key: key, origin: origin)
        return dir
    }
}
