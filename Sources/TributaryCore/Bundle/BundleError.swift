/// Why a contribution bundle was refused. Codes are listed in protocol/SPEC.md §8.
public enum BundleError: CodedError, Equatable {
    case notADirectory(String)
    case badName(String)
    case symlink(String)
    case notRegularFile(String)
    case missingFile(String)
    case extraFile(String)
    case wrongPayloadType(String)
    case signatureInvalid(String)
    case statementMismatch
    case wrongSubjects(String)
    case keyMismatch(String)
    case digestMismatch(file: String, expected: String, actual: String)
    case expertLayout(String)
    case routingLayout(String)
    case metadata(file: String, problem: String)

    public var code: String {
        switch self {
        case .notADirectory: return "bundle.not_a_directory"
        case .badName: return "bundle.bad_name"
        case .symlink: return "bundle.symlink"
        case .notRegularFile: return "bundle.not_regular_file"
        case .missingFile: return "bundle.missing_file"
        case .extraFile: return "bundle.extra_file"
        case .wrongPayloadType: return "bundle.wrong_payload_type"
        case .signatureInvalid: return "bundle.signature_invalid"
        case .statementMismatch: return "bundle.statement_mismatch"
        case .wrongSubjects: return "bundle.wrong_subjects"
        case .keyMismatch: return "bundle.key_mismatch"
        case .digestMismatch: return "bundle.digest_mismatch"
        case .expertLayout: return "bundle.expert_layout"
        case .routingLayout: return "bundle.routing_layout"
        case .metadata: return "bundle.metadata"
        }
    }

    public var message: String {
        switch self {
        case let .notADirectory(p): return "\(p) is not a directory"
        case let .badName(n): return "file name \(n.debugDescription) is not allowed (path separator, '..', leading dot or control character)"
        case let .symlink(n): return "\(n) is a symbolic link; bundles hold regular files only"
        case let .notRegularFile(n): return "\(n) is not a regular file"
        case let .missingFile(n): return "\(n) is missing"
        case let .extraFile(n): return "\(n) is not part of a contribution bundle"
        case let .wrongPayloadType(t): return "envelope payloadType is \"\(t)\", expected \"\(DSSEEnvelope.inTotoPayloadType)\""
        case let .signatureInvalid(why): return "no envelope signature verifies: \(why)"
        case .statementMismatch: return "statement.json differs from the payload the envelope signs"
        case let .wrongSubjects(why): return "statement subjects are wrong: \(why)"
        case let .keyMismatch(why): return "statement does not belong to the signing key: \(why)"
        case let .digestMismatch(f, e, a): return "\(f) has SHA-256 \(a), the statement says \(e)"
        case let .expertLayout(why): return "expert.safetensors: \(why)"
        case let .routingLayout(why): return "routing.safetensors: \(why)"
        case let .metadata(f, p): return "\(f) metadata: \(p)"
        }
    }
}
