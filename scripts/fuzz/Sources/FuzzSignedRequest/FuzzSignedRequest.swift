import TributaryCore
import TributaryLog

/// Feeds arbitrary bytes to the parsers of everything a server or auditor receives besides bundles:
/// signed requests, log entries, release manifests and checkpoints.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignedRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (envelope, request) = try? SignedRequest.parse(bytes) {
        precondition(envelope.payloadType == SignedRequest.payloadType)
        // A parsed request re-serialises to JSON that parses to the same request.
        let again = try? SignedRequest.parse(DSSEEnvelope(payloadType: SignedRequest.payloadType, payload: JSONWriter.serialize(request.json),
                                                          signatures: envelope.signatures).serialized())
        precondition(again?.request == request, "signed request does not round-trip")
    }
    if let entry = try? LogEntry.parse(bytes) {
        precondition(entry.bytes == bytes, "a parsed log entry must be canonical")
    }
    _ = try? ReleaseManifest.parse(bytes)
    _ = try? Checkpoint.parse(text: String(decoding: bytes, as: UTF8.self))
    return 0
}
