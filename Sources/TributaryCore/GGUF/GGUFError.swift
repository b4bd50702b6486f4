/// Every way a GGUF file can fail to be read, each with its own code (protocol/SPEC.md §8).
public enum GGUFError: CodedError, Equatable {
    case notGGUF
    case unsupportedVersion(UInt32)
    case truncated(String)
    case malformed(String)
    case unknownType(tensor: String, type: UInt32)
    case unsupportedType(tensor: String, type: String)
    case missingKey(String)

    public var code: String {
        switch self {
        case .notGGUF: return "gguf.not_gguf"
        case .unsupportedVersion: return "gguf.unsupported_version"
        case .truncated: return "gguf.truncated"
        case .malformed: return "gguf.malformed"
        case .unknownType: return "gguf.unknown_type"
        case .unsupportedType: return "gguf.unsupported_type"
        case .missingKey: return "gguf.missing_key"
        }
    }

    public var message: String {
        switch self {
        case .notGGUF: return "the file does not start with the GGUF magic"
        case let .unsupportedVersion(v): return "GGUF version \(v) is not supported (2 and 3 are)"
        case let .truncated(what): return "the file ends inside \(what)"
        case let .malformed(why): return "the file is malformed: \(why)"
        case let .unknownType(t, type): return "tensor \(t) has type \(type), which is no ggml type"
        case let .unsupportedType(t, type): return "tensor \(t) is \(type); this reader dequantises F32, F16, BF16, Q4_0, Q4_1 and Q8_0"
        case let .missingKey(k): return "the metadata lacks \(k)"
        }
    }
}
