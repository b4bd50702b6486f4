import TributaryCore

/// Where a tree keeps the hash of every complete subtree: node (level, index) covers leaves
/// [index·2^level, (index+1)·2^level). A log of n leaves stores about 2n of them, and any root or
/// proof needs O(log² n) lookups at most — fast at a million entries.
public protocol TreeNodeStore {
    func node(level: Int, index: UInt64) throws -> [UInt8]
    /// Nodes [start, start + count) of one level: a tile's worth. Stores with range reads override it.
    func nodes(level: Int, start: UInt64, count: Int) throws -> [[UInt8]]
}

extension TreeNodeStore {
    public func nodes(level: Int, start: UInt64, count: Int) throws -> [[UInt8]] {
        try (0..<UInt64(count)).map { try node(level: level, index: start + $0) }
    }
}

public struct MerkleTreeError: CodedError, Equatable {
    public let code: String
    public let message: String
    public static func missingNode(_ level: Int, _ index: UInt64) -> MerkleTreeError {
        MerkleTreeError(code: "log.corrupt", message: "stored tree node (\(level), \(index)) is missing")
    }
    public static func badRange(_ what: String) -> MerkleTreeError { MerkleTreeError(code: "log.bad_range", message: what) }
}

public enum MerkleTree {
    /// The nodes appending leaf `index` (with `leafHash`) completes: the leaf itself and every subtree
    /// it closes. `store` must already hold the earlier leaves' nodes.
    public static func nodesCompleted<S: TreeNodeStore>(byLeaf index: UInt64, leafHash: [UInt8], store: S) throws
        -> [(level: Int, index: UInt64, hash: [UInt8])] {
        var out = [(level: Int, index: UInt64, hash: [UInt8])]()
        var level = 0, i = index, h = leafHash
        out.append((0, i, h))
        while i & 1 == 1 {
            h = MerkleHash.node(try store.node(level: level, index: i - 1), h)
            i >>= 1
            level += 1
            out.append((level, i, h))
        }
        return out
    }

    /// MTH(D[start:end]) for a range the RFC's recursion produces (start aligned to the largest power
    /// of two not above end − start), from stored complete subtrees.
    public static func subtreeHash<S: TreeNodeStore>(start: UInt64, end: UInt64, store: S) throws -> [UInt8] {
        let n = end - start
        if n == 0 { return MerkleHash.emptyRoot }
        if n & (n - 1) == 0 {
            let level = n.trailingZeroBitCount
            guard start % n == 0 else { throw MerkleTreeError.badRange("range [\(start), \(end)) is not aligned") }
            return try store.node(level: level, index: start >> UInt64(level))
        }
        let k = MerkleHash.split(n)
        return MerkleHash.node(try subtreeHash(start: start, end: start + k, store: store),
                               try subtreeHash(start: start + k, end: end, store: store))
    }

    public static func root<S: TreeNodeStore>(size: UInt64, store: S) throws -> [UInt8] {
        try subtreeHash(start: 0, end: size, store: store)
    }

    /// PATH(m, D[0:n]) of RFC 6962 §2.1.1.
    public static func inclusionProof<S: TreeNodeStore>(index: UInt64, size: UInt64, store: S) throws -> [[UInt8]] {
        guard index < size else { throw MerkleTreeError.badRange("index \(index) is not below tree size \(size)") }
        func path(_ m: UInt64, _ start: UInt64, _ end: UInt64) throws -> [[UInt8]] {
            let n = end - start
            if n == 1 { return [] }
            let k = MerkleHash.split(n)
            if m - start < k { return try path(m, start, start + k) + [subtreeHash(start: start + k, end: end, store: store)] }
            return try path(m, start + k, end) + [subtreeHash(start: start, end: start + k, store: store)]
        }
        return try path(index, 0, size)
    }

    /// PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) of RFC 6962 §2.1.2.
    public static func consistencyProof<S: TreeNodeStore>(first m: UInt64, second n: UInt64, store: S) throws -> [[UInt8]] {
        guard m <= n else { throw MerkleTreeError.badRange("first size \(m) is above second size \(n)") }
        if m == 0 || m == n { return [] }
        func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ complete: Bool) throws -> [[UInt8]] {
            let n = end - start
            if m == n { return complete ? [] : [try subtreeHash(start: start, end: end, store: store)] }
            let k = MerkleHash.split(n)
            if m <= k { return try subproof(m, start, start + k, complete) + [subtreeHash(start: start + k, end: end, store: store)] }
            return try subproof(m - k, start + k, end, false) + [subtreeHash(start: start, end: start + k, store: store)]
        }
        return try subproof(m, 0, n, true)
    }
}

/// A tree kept in memory: for auditors replaying a log, and for tests.
public final class MemoryTree: TreeNodeStore, @unchecked Sendable {
    private var levels: [[[UInt8]]] = []
    public private(set) var size: UInt64 = 0

    public init() {}

    public func node(level: Int, index: UInt64) throws -> [UInt8] {
        guard level < levels.count, index < UInt64(levels[level].count) else { throw MerkleTreeError.missingNode(level, index) }
        return levels[level][Int(index)]
    }

    @discardableResult
    public func append(entry: [UInt8]) -> [UInt8] { append(leafHash: MerkleHash.leaf(entry)) }

    @discardableResult
    public func append(leafHash: [UInt8]) -> [UInt8] {
        // Cannot fail: every node the new leaf needs was stored by earlier appends.
        let nodes = try! MerkleTree.nodesCompleted(byLeaf: size, leafHash: leafHash, store: self)
        for n in nodes {
            if levels.count <= n.level { levels.append([]) }
            precondition(UInt64(levels[n.level].count) == n.index)
            levels[n.level].append(n.hash)
        }
        size += 1
        return leafHash
    }

    public func root(size: UInt64? = nil) -> [UInt8] { try! MerkleTree.root(size: size ?? self.size, store: self) }
}
