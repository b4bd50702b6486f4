import Foundation
import TributaryCore

/// The weights of a Hugging Face model directory, as `save_pretrained` writes them: one
/// `model.safetensors`, or shards named by `model.safetensors.index.json`'s `weight_map`. Shard names
/// must be plain safetensors file names in the directory, so an index cannot point outside it; every
/// tensor must sit in the file the index names, and no shard may hold a tensor the index does not map
/// (it would be silently ignored). Read by `anchor import --hf` and `contribute --checkpoint`.
struct HuggingFaceWeights {
    static let singleFile = ModelFiles.weights
    static let indexFile = "model.safetensors.index.json"

    let directory: String
    private let files: [String: SafetensorsFile]
    /// Which file holds each tensor.
    private let owner: [String: String]

    var names: Set<String> { Set(owner.keys) }

    init(directory dir: String) throws {
        directory = dir
        var files = [String: SafetensorsFile](), owner = [String: String]()
        let indexPath = dir + "/" + Self.indexFile
        if FileManager.default.fileExists(atPath: indexPath) {
            guard case let .object(map)? = try StrictJSONParser.parse(try readSmallFile(indexPath, limit: 1 << 24, noFollow: false))["weight_map"] else {
                throw TributaryError("model.invalid_config", "\(indexPath) has no weight_map object")
            }
            for (name, v) in map {
                guard let file = v.stringValue, BundleLayout.isAcceptableName(file), file.hasSuffix(".safetensors") else {
                    throw TributaryError("model.invalid_config", "\(indexPath): tensor \(name) is mapped to \(v), not a safetensors file of this directory")
                }
                if files[file] == nil { files[file] = try Self.open(dir + "/" + file) }
                guard files[file]!.tensors.contains(where: { $0.name == name }) else {
                    throw TributaryError("model.missing_tensor", "\(indexPath) maps tensor \(name) to \(file), which does not hold it")
                }
                owner[name] = file
            }
            for (file, f) in files { for t in f.tensors where owner[t.name] != file {
                throw TributaryError("model.unexpected_tensor", "\(dir)/\(file) holds \(t.name), which \(Self.indexFile) does not map to it")
            } }
        } else {
            let f = try Self.open(dir + "/" + Self.singleFile)
            files[Self.singleFile] = f
            for t in f.tensors { owner[t.name] = Self.singleFile }
        }
        self.files = files
        self.owner = owner
    }

    private static func open(_ path: String) throws -> SafetensorsFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TributaryError("model.missing_tensor", "\(path) does not exist: a model directory holds \(singleFile), or \(indexFile) and its shards")
        }
        return try SafetensorsFile(path: path)
    }

    /// The tensor `name` with its file, checked to have `shape` and a float dtype (F32, BF16, F16).
    func tensor(_ name: String, shape: [Int]) throws -> (file: SafetensorsFile, info: TensorInfo) {
        guard let fileName = owner[name], let file = files[fileName] else {
            throw TributaryError("model.missing_tensor", "\(directory): tensor \(name) is missing")
        }
        let info = try file.info(name)
        guard info.shape == shape else {
            throw TributaryError("model.shape_mismatch", "\(directory): tensor \(name) has shape \(info.shape), the config needs \(shape)")
        }
        guard [.F32, .BF16, .F16].contains(info.dtype) else { throw SafetensorsError.unsupportedDType(tensor: name, dtype: info.dtype.rawValue) }
        return (file, info)
    }

    /// The tensor's values widened to Float (exact for BF16 and F16).
    func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let t = try tensor(name, shape: shape)
        return try t.file.floats(t.info)
    }

    /// Reads the tensor's values, widened to Float, into `out`.
    func read(_ name: String, shape: [Int], into out: UnsafeMutablePointer<Float>) throws {
        let t = try tensor(name, shape: shape)
        try t.file.readFloats(t.info, into: out)
    }

    /// The first index where the stored tensor is not `reference` rounded to the tensor's dtype
    /// (F32 bit for bit; BF16 and F16 round to nearest even, as PyTorch's `.to(dtype)` does), nil when
    /// every element matches (of the first `prefix` elements when given). Returns the stored and
    /// expected bit patterns for the message.
    func firstMismatch(_ name: String, shape: [Int], reference: UnsafePointer<Float>, prefix: Int? = nil) throws -> (index: Int, stored: UInt32, expected: UInt32)? {
        let (file, info) = try tensor(name, shape: shape)
        let raw = file.rawBytes(info), n = min(prefix ?? info.elementCount, info.elementCount)
        switch info.dtype {
        case .F32:
            for i in 0..<n {
                let s = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self), e = reference[i].bitPattern
                if s != e { return (i, s, e) }
            }
        default:
            let bf16 = info.dtype == .BF16
            for i in 0..<n {
                let s = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                let e = bf16 ? HalfConversion.floatToBF16(reference[i]) : Float16(reference[i]).bitPattern
                if s != e { return (i, UInt32(s), UInt32(e)) }
            }
        }
        return nil
    }

    func dtype(_ name: String) -> SafetensorsDType? { owner[name].flatMap { files[$0] }.flatMap { try? $0.info(name).dtype } }
}
