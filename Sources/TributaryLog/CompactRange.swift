import TributaryCore

/// A Merkle tree's right edge: the roots of its perfect subtrees, largest first. Appending a leaf
/// and computing the root need O(log n) memory, so a log of any size is checked in one pass.
public struct CompactRange: Sendable {
    public init() {}

    private var subtrees: [(level: Int, hash: [UInt8])] = []
    /// Leaves appended so far.
    public private(set) var size: UInt64 = 0

    public mutating func append(_ leafHash: [UInt8]) {
        var node = (level: 0, hash: leafHash)
        while let last = subtrees.last, last.level == node.level {
            subtrees.removeLast()
            node = (node.level + 1, MerkleHash.node(last.hash, node.hash))
        }
        subtrees.append(node)
        size += 1
    }

    /// RFC 6962 MTH: the perfect subtrees folded from the smallest (rightmost) up.
    public var root: [UInt8] {
        guard var acc = subtrees.last?.hash else { return MerkleHash.emptyRoot }
        for s in subtrees.dropLast().reversed() { acc = MerkleHash.node(s.hash, acc) }
        return acc
    }
}
