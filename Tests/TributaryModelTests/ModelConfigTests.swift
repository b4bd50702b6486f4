import Testing
import TributaryCore
@testable import TributaryModel

@Suite struct ModelConfigTests {
    static let llama = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 64)

    static func parse(_ edit: ([(String, JSONValue)]) -> [(String, JSONValue)]) throws -> ModelConfig {
        guard case let .object(fields) = llama.huggingFaceJSON else { throw TributaryError("test", "not an object") }
        return try ModelConfig(huggingFaceJSON: .object(edit(fields)))
    }

    static func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as TributaryError { return e.code } catch { return "\(error)" }
    }

    @Test func roundTripsThroughTransformersJSON() throws {
        #expect(try Self.parse { $0 } == Self.llama)
        let moe = Self.llama.withExperts(3, topK: 2, layers: [1])
        #expect(try ModelConfig(huggingFaceJSON: moe.huggingFaceJSON) == moe)
    }

    /// transformers 5 writes RoPE's theta as rope_parameters.rope_theta, with no top-level rope_theta:
    /// read as 10,000 (the default) it would give every position the wrong rotation, silently.
    @Test func readsTransformers5RopeParameters() throws {
        let theta = JSONValue.number("123456.0")
        let moved = try Self.parse { f in
            f.filter { $0.0 != "rope_theta" } + [("rope_parameters", .object([("rope_theta", theta), ("rope_type", .string("default"))]))]
        }
        #expect(moved.ropeTheta == 123456)
        #expect(Self.code { _ = try Self.parse { f in f + [("rope_parameters", .object([("rope_theta", theta)]))] } } == "model.invalid_config")
        #expect(Self.code { _ = try Self.parse { f in
            f.filter { $0.0 != "rope_theta" } + [("rope_parameters", .object([("rope_theta", theta), ("rope_type", .string("llama3"))]))]
        } } == "model.invalid_config")
        #expect(Self.code { _ = try Self.parse { f in
            f.filter { $0.0 != "rope_theta" } + [("rope_parameters", .object([("rope_type", .string("default"))]))]
        } } == "model.invalid_config")
    }
}
