/// An error with a stable, machine-readable code from `protocol/SPEC.md` and a message for people.
///
/// Every failure a verifier, a client or the server can report is one of these, so the CLI can print
/// `error[code]: message`, the server can put `code` in its JSON body, and tests can assert the exact case.
public protocol CodedError: Error, CustomStringConvertible, Sendable {
    /// Dotted, stable identifier, e.g. `safetensors.duplicate_tensor`.
    var code: String { get }
    /// What went wrong, naming the file, tensor or field concerned.
    var message: String { get }
}

extension CodedError {
    public var description: String { "\(code): \(message)" }
}

/// A plain coded error for places that do not warrant an enum of their own.
public struct TributaryError: CodedError, Equatable {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
