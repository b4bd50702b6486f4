import TributaryCore
import TributaryLog

/// What a hostile server or export hands the auditor (issue 25): release manifests, policies,
/// checkpoints and their cosignatures, tiles, witness bodies, and proofs whose sizes come from the
/// input. Invariants a parsed value must meet are checked; anything else may be refused.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuditInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let m = try? ReleaseManifest.parse(bytes) {
        // Every digest a manifest names is one the auditor may put in a fetched path.
        for e in m.experts { precondition([e.statementSHA256, e.expertSHA256, e.routingSHA256].allSatisfy { Hex.isLowerHex($0, byteCount: 32) }) }
        precondition(m.files.values.allSatisfy { Hex.isLowerHex($0, byteCount: 32) } && Hex.isLowerHex(m.anchorSHA256, byteCount: 32))
    }
    if let json = try? StrictJSONParser.parse(bytes), let policy = try? ContributionPolicy(json: json) {
        // A policy that parses is valid, and checks any routing without trapping.
        _ = try? policy.checkRouting(rows: [Float](repeating: 1, count: 8), anchorRows: [Float](repeating: 1, count: 8),
                                     expertLayers: [0, 1], dimension: 4, centroids: [1, 0, 0, 0])
    }
    if let note = try? SignedNote.parse(bytes) {
        _ = try? Checkpoint.parse(text: note.text)
        _ = try? Cosignature.verify(note, keys: [])
    }
    _ = try? AddCheckpointRequest.parse(bytes)
    _ = try? AddCheckpointRequest.parseCosignatures(bytes)
    _ = try? TilePath.parse(String(decoding: bytes, as: UTF8.self))
    if let first = bytes.first {
        _ = try? Tiles.decodeBundle(Array(bytes.dropFirst()), count: Int(first))
        _ = try? Tiles.hashes(Array(bytes.dropFirst()), width: Int(first))
    }
    // Tree sizes from the input, up to 2^64 − 1: no trap and no endless loop at the top of the range.
    if size >= 16 {
        var first: UInt64 = 0, second: UInt64 = 0
        for i in 0..<8 { first |= UInt64(bytes[i]) << (8 * UInt64(i)); second |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        let hashes = stride(from: 16, to: size - 31, by: 32).prefix(64).map { Array(bytes[$0..<$0 + 32]) }
        _ = ProofVerification.consistency(first: first, second: second, firstRoot: [UInt8](repeating: 0, count: 32),
                                          secondRoot: [UInt8](repeating: 1, count: 32), proof: hashes)
        _ = ProofVerification.inclusion(index: first, size: second, leafHash: [UInt8](repeating: 2, count: 32), proof: hashes,
                                        root: [UInt8](repeating: 3, count: 32))
        if second >= 2 { precondition(MerkleHash.split(second) < second) }
    }
    return 0
}
