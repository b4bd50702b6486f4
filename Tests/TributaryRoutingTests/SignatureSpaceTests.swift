import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryTestSupport
@testable import TributaryRouting

/// The signature space against protocol/test-vectors/signature-space.json, computed by numpy
/// (scripts/interop/signature_space_vectors.py) from SPEC §6.1's formulas: the fit (centre, principal
/// directions with their signs fixed) and documents' points. Tolerances: the vector holds 9 significant
/// digits of float64 results; we compute in Double from Float inputs that are exact (multiples of 1/64)
/// and round the results to Float (relative error ~6e-8), so 1e-6 absolute on unit-scale values. The
/// power iteration converges to the eigenvectors within ~1e-9 here (eigenvalue gap ratio 0.73 over
/// 300 iterations), so the projection too.
@Suite struct SignatureSpaceTests {
    struct Vector {
        let hidden: Int, dimension: Int, layer: Int
        let publicRows: [Float], center: [Float], projection: [Float], documents: [Float], points: [Float]
    }

    func vector() throws -> Vector {
        let json = try StrictJSONParser.parse(try readSmallFile(packageRoot + "/protocol/test-vectors/signature-space.json", limit: 1 << 20))
        func floats(_ key: String) throws -> [Float] {
            guard case let .array(items)? = json[key] else { throw TributaryError("test.vector", "\(key) missing") }
            return items.map { if case let .number(t) = $0 { return Float(Double(t)!) } else { return .nan } }
        }
        func int(_ key: String) -> Int { if case let .number(t)? = json[key] { return Int(t)! } else { return -1 } }
        return Vector(hidden: int("hidden"), dimension: int("dimension"), layer: int("layer"), publicRows: try floats("publicRows"),
                      center: try floats("center"), projection: try floats("projection"), documents: try floats("documents"), points: try floats("points"))
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test func fitMatchesNumpy() throws {
        let v = try vector()
        let space = try SignatureSpace.fit(layerMeans: v.publicRows, hidden: v.hidden, layer: v.layer, dimension: v.dimension, drop: 0, whiten: false)
        #expect(maxDiff(space.center, v.center) < 1e-6)
        #expect(maxDiff(try #require(space.projection), v.projection) < 1e-6)
        #expect(maxDiff(space.points(v.documents), v.points) < 1e-6)
    }

    @Test func pointsOfTheCommittedSpaceMatchNumpy() throws {
        let v = try vector()
        let space = SignatureSpace(layer: v.layer, center: v.center, projection: v.projection)
        let points = space.points(v.documents)
        #expect(maxDiff(points, v.points) < 1e-6)
        for i in 0..<(points.count / v.dimension) {
            #expect(abs(VectorMath.norm(Array(points[i * v.dimension..<(i + 1) * v.dimension])) - 1) < 1e-6)
        }
    }

    /// The space round-trips through a routing file; a projection of the wrong shape, a missing
    /// metadata entry or a non-finite value is refused with `routing.space`.
    @Test func spaceFilesRoundTripAndBadOnesAreRefused() throws {
        let v = try vector()
        let dir = TempDir()
        let space = SignatureSpace(layer: v.layer, center: v.center, projection: v.projection)
        var w = SafetensorsWriter()
        space.add(to: &w)
        try w.write(to: dir.file("good.safetensors"))
        let back = try SignatureSpace.read(try SafetensorsFile(path: dir.file("good.safetensors")), path: "good", layers: 2, hidden: v.hidden)
        #expect(back == space && back.parameters == SignatureSpaceParameters(layer: v.layer, dimension: v.dimension))

        func refused(_ name: String, layers: Int = 2, _ build: (inout SafetensorsWriter) -> Void) throws {
            var w = SafetensorsWriter()
            build(&w)
            try w.write(to: dir.file(name))
            #expect { _ = try SignatureSpace.read(try SafetensorsFile(path: dir.file(name)), path: name, layers: layers, hidden: v.hidden) } throws: {
                ($0 as? TributaryError)?.code == "routing.space"
            }
        }
        try refused("no-metadata.safetensors") { w in
            w.add(TensorNames.signatureCenter, shape: [v.hidden], values: v.center)
            w.add(TensorNames.signatureProjection, shape: [v.dimension, v.hidden], values: v.projection)
        }
        try refused("wrong-shape.safetensors") { w in
            w.metadata[TensorNames.signatureSpaceMetadataKey] = JSONWriter.string(SignatureSpaceParameters(layer: 1, dimension: 3).json)
            w.add(TensorNames.signatureCenter, shape: [v.hidden], values: v.center)
            w.add(TensorNames.signatureProjection, shape: [v.dimension, v.hidden], values: v.projection)
        }
        try refused("layer-beyond.safetensors", layers: 0) { w in space.add(to: &w) }
        try refused("not-finite.safetensors") { w in
            w.metadata[TensorNames.signatureSpaceMetadataKey] = JSONWriter.string(space.parameters!.json)
            w.add(TensorNames.signatureCenter, shape: [v.hidden], values: v.center)
            w.add(TensorNames.signatureProjection, shape: [v.dimension, v.hidden], values: [.nan] + v.projection.dropFirst())
        }
    }
}
