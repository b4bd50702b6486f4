/// Every way a safetensors file can be malformed, one case each, following the checks of the reference
/// implementation (huggingface/safetensors `tensor.rs`). Messages name the tensor and the problem.
public enum SafetensorsError: CodedError, Equatable {
    case truncated(String)
    case headerTooLarge(UInt64)
    case headerOutOfBounds(headerLength: UInt64, fileSize: UInt64)
    case headerNotUTF8
    case headerStart
    case headerJSON(String)
    case invalidMetadata(String)
    case duplicateTensor(String)
    case unknownDType(tensor: String, dtype: String)
    case invalidEntry(tensor: String, problem: String)
    case shapeMismatch(tensor: String, expectedBytes: UInt64, actualBytes: UInt64)
    case overlap(tensor: String, begin: UInt64, expected: UInt64)
    case gap(tensor: String, begin: UInt64, expected: UInt64)
    case bufferSizeMismatch(covered: UInt64, buffer: UInt64)
    case overflow(tensor: String)
    case tensorNotFound(String)
    case unsupportedDType(tensor: String, dtype: String)

    public var code: String {
        switch self {
        case .truncated: return "safetensors.truncated"
        case .headerTooLarge: return "safetensors.header_too_large"
        case .headerOutOfBounds: return "safetensors.header_out_of_bounds"
        case .headerNotUTF8: return "safetensors.header_not_utf8"
        case .headerStart: return "safetensors.header_start"
        case .headerJSON: return "safetensors.header_json"
        case .invalidMetadata: return "safetensors.invalid_metadata"
        case .duplicateTensor: return "safetensors.duplicate_tensor"
        case .unknownDType: return "safetensors.unknown_dtype"
        case .invalidEntry: return "safetensors.invalid_entry"
        case .shapeMismatch: return "safetensors.shape_mismatch"
        case .overlap: return "safetensors.overlapping_offsets"
        case .gap: return "safetensors.gap"
        case .bufferSizeMismatch: return "safetensors.buffer_size_mismatch"
        case .overflow: return "safetensors.overflow"
        case .tensorNotFound: return "safetensors.tensor_not_found"
        case .unsupportedDType: return "safetensors.unsupported_dtype"
        }
    }

    public var message: String {
        switch self {
        case let .truncated(what): return "file is truncated: \(what)"
        case let .headerTooLarge(n): return "header length \(n) exceeds the limit of \(SafetensorsHeader.maxHeaderLength) bytes"
        case let .headerOutOfBounds(n, size): return "header length \(n) runs past the end of the \(size)-byte file"
        case .headerNotUTF8: return "header is not valid UTF-8"
        case .headerStart: return "header does not start with '{'"
        case let .headerJSON(why): return "header is not valid JSON: \(why)"
        case let .invalidMetadata(why): return "__metadata__ must map strings to strings: \(why)"
        case let .duplicateTensor(name): return "tensor \"\(name)\" appears more than once"
        case let .unknownDType(t, d): return "tensor \"\(t)\" has unknown dtype \"\(d)\""
        case let .invalidEntry(t, p): return "tensor \"\(t)\": \(p)"
        case let .shapeMismatch(t, e, a): return "tensor \"\(t)\": shape and dtype need \(e) bytes but data_offsets span \(a)"
        case let .overlap(t, b, e): return "tensor \"\(t)\" begins at \(b), overlapping the previous tensor which ends at \(e)"
        case let .gap(t, b, e): return "tensor \"\(t)\" begins at \(b), leaving a gap after offset \(e)"
        case let .bufferSizeMismatch(c, b): return "tensors cover \(c) bytes but the data buffer holds \(b)"
        case let .overflow(t): return "tensor \"\(t)\": size overflows 64 bits"
        case let .tensorNotFound(n): return "no tensor named \"\(n)\""
        case let .unsupportedDType(t, d): return "tensor \"\(t)\": dtype \(d) cannot be read as float (F32, F16 and BF16 can)"
        }
    }
}
