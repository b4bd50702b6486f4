import TributaryCore

/// RFC 6962 / RFC 9162 Merkle tree hashing: leaves SHA-256(0x00 || entry), interior nodes
/// SHA-256(0x01 || left || right), the empty tree SHA-256 of nothing.
public enum MerkleHash {
    public static let size = 32
    public static let emptyRoot = SHA256.digest([UInt8]())

    public static func leaf<C: Collection>(_ entry: C) -> [UInt8] where C.Element == UInt8 {
        let h = SHA256Hasher()
        h.update([0x00])
        h.update(entry)
        return h.finalize()
    }

    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        let h = SHA256Hasher()
        h.update([0x01])
        h.update(left)
        h.update(right)
        return h.finalize()
    }

    /// The largest power of two strictly smaller than n (n ≥ 2): MTH's split point k < n ≤ 2k.
    public static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        // From the bit length of n − 1: a doubling loop never ended for n > 2^63 (k << 1 wraps to 0).
        return 1 << UInt64(63 - (n - 1).leadingZeroBitCount)
    }

    /// MTH over leaf hashes held in memory, straight from the RFC's recursive definition.
    public static func root(leafHashes: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leafHashes.count {
        case 0: return emptyRoot
        case 1: return leafHashes.first!
        default:
            let k = Int(split(UInt64(leafHashes.count)))
            let start = leafHashes.startIndex
            return node(root(leafHashes: leafHashes[start..<start + k]), root(leafHashes: leafHashes[(start + k)...]))
        }
    }
}
