import Testing
import TributaryCore
import TributaryLog

@Suite struct CompactRangeTests {
    /// The one-pass root (the server's integrity scan, the auditor, the exporter) is the tree's root
    /// (RFC 9162 MTH, computed by `MerkleTree` from stored nodes) at every size, sizes that are not
    /// powers of two included.
    @Test func rootIsTheTreesAtEverySize() {
        var range = CompactRange()
        let tree = MemoryTree()
        #expect(range.root == MerkleHash.emptyRoot)
        for i in 0..<70 {
            let entry = Array("entry \(i)".utf8)
            range.append(MerkleHash.leaf(entry))
            tree.append(entry: entry)
            #expect(range.size == tree.size)
            #expect(range.root == tree.root(), "size \(i + 1)")
        }
    }
}
