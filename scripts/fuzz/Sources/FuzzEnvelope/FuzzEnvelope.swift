import TributaryCore

/// Feeds arbitrary bytes to the DSSE envelope parser and the statement/predicate parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let envelope = try? DSSEEnvelope.parse(bytes) {
        // Whatever parses must survive our own serialisation round trip.
        let again = try? DSSEEnvelope.parse(envelope.serialized())
        precondition(again == envelope, "envelope does not round-trip")
        _ = try? InTotoStatement.parse(envelope.payload)
    }
    if let statement = try? InTotoStatement.parse(bytes) {
        _ = try? ContributionPredicate(json: statement.predicate)
        precondition((try? InTotoStatement.parse(statement.serialized())) == statement, "statement does not round-trip")
    }
    _ = try? SignedNote.parse(bytes)
    return 0
}
