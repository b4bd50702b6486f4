import Foundation
import TributaryCore

/// The tensors of a Hugging Face checkpoint directory, as `save_pretrained` writes them: one
/// `model.safetensors`, or shards named by `model.safetensors.index.json`'s `weight_map`.
/// Shard names must be plain file names in the directory (no paths), so an index cannot point outside it.
struct CheckpointTensors {
    static let singleFile = "model.safetensors"
    static let indexFile = "model.safetensors.index.json"

    let directory: String
    private let files: [String: SafetensorsFile]
    /// Which file holds each tensor.
    private let owner: [String: String]

    var names: Set<String> { Set(owner.keys) }

    init(directory dir: String) throws {
        directory = dir
        let fm = FileManager.default
        var files = [String: SafetensorsFile](), owner = [String: String]()
        if fm.fileExists(atPath: dir + "/" + Self.indexFile) {
            let path = dir + "/" + Self.indexFile
            let map: [(String, JSONValue)]
            do {
                var r = try JSONObjectReader(try StrictJSONParser.parse(try readSmallFile(path, limit: 64 << 20, noFollow: false)), path: Self.indexFile)
                guard case let .object(m) = try r.value("weight_map") else {
                    throw JSONSchemaError(path: "\(Self.indexFile).weight_map", problem: "expected an object")
                }
                map = m
            } catch {
                throw TributaryError("contribute.invalid_checkpoint", "\(path): \(error)")
            }
            for (name, v) in map {
                guard case let .string(file) = v, !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
                    throw TributaryError("contribute.invalid_checkpoint", "\(path): tensor \(name) is mapped to \(v), not a file name in the directory")
                }
                if files[file] == nil { files[file] = try Self.open(dir + "/" + file) }
                guard files[file]!.tensors.contains(where: { $0.name == name }) else {
                    throw TributaryError("contribute.invalid_checkpoint", "\(path): tensor \(name) is not in \(file)")
                }
                owner[name] = file
            }
            // A shard's tensor the index does not name would be silently ignored: refuse it.
            for (file, f) in files { for t in f.tensors where owner[t.name] != file {
                throw TributaryError("contribute.invalid_checkpoint", "\(file) holds \(t.name), which \(Self.indexFile) does not map to it")
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
            throw TributaryError("contribute.invalid_checkpoint", "\(path) does not exist: a checkpoint directory holds \(singleFile) or \(indexFile) and its shards")
        }
        do { return try SafetensorsFile(path: path) } catch {
            throw TributaryError("contribute.invalid_checkpoint", "\(path): \(error)")
        }
    }

    /// The tensor `name` with its file, checked to have `shape` and a float dtype the import reads.
    func tensor(_ name: String, shape: [Int]) throws -> (file: SafetensorsFile, info: TensorInfo) {
        guard let fileName = owner[name], let file = files[fileName] else {
            throw TributaryError("contribute.missing_tensor", "\(directory): the checkpoint has no tensor \(name)")
        }
        let info = try file.info(name)
        guard info.shape == shape else {
            throw TributaryError("contribute.invalid_checkpoint", "\(directory): \(name) has shape \(info.shape), the anchor needs \(shape)")
        }
        guard [.F32, .BF16, .F16].contains(info.dtype) else {
            throw TributaryError("contribute.invalid_checkpoint", "\(directory): \(name) is \(info.dtype.rawValue); the import reads F32, BF16 and F16")
        }
        return (file, info)
    }

    /// The tensor's values widened to Float (exact for BF16 and F16).
    func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let t = try tensor(name, shape: shape)
        return try t.file.floats(t.info)
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
        case .BF16, .F16:
            let bf16 = info.dtype == .BF16
            for i in 0..<n {
                let s = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                let e = bf16 ? HalfConversion.floatToBF16(reference[i]) : Float16(reference[i]).bitPattern
                if s != e { return (i, UInt32(s), UInt32(e)) }
            }
        default: break
        }
        return nil
    }

    func dtype(_ name: String) -> SafetensorsDType? { owner[name].flatMap { files[$0] }.flatMap { try? $0.info(name).dtype } }
}
