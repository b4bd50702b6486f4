import Testing
import TributaryCore
@testable import TributaryLog

/// Certificate Transparency's RFC 6962 reference data (google/certificate-transparency-go and
/// Trillian, merkle/log_verifier_test.go): eight leaves, the root of every prefix, and proofs.
enum CTVectors {
    static let leaves: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                    "606162636465666768696a6b6c6d6e6f"].map { Hex.decode($0)! }
    static let roots = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"].map { Hex.decode($0)! }
    /// (leaf index, tree size, proof)
    static let inclusion: [(UInt64, UInt64, [String])] = [
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    ]
    /// (first size, second size, proof)
    static let consistency: [(UInt64, UInt64, [String])] = [
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    ]
}

func tree(_ n: Int) -> MemoryTree {
    let t = MemoryTree()
    for leaf in CTVectors.leaves.prefix(n) { t.append(entry: leaf) }
    return t
}

@Suite struct MerkleTests {
    @Test func rootsMatchTheReferenceForEveryPrefix() throws {
        #expect(MerkleHash.emptyRoot == Hex.decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        let t = tree(8)
        for n in 1...8 {
            #expect(t.root(size: UInt64(n)) == CTVectors.roots[n - 1], "size \(n)")
            #expect(MerkleHash.root(leafHashes: CTVectors.leaves.prefix(n).map { MerkleHash.leaf($0) }[...]) == CTVectors.roots[n - 1])
        }
        #expect(t.root(size: 0) == MerkleHash.emptyRoot)
    }

    /// A three-leaf tree by hand: MTH = H(1 || H(1 || l0 || l1) || l2).
    @Test func handComputedSmallTrees() throws {
        let l = CTVectors.leaves.prefix(3).map { MerkleHash.leaf($0) }
        let n01 = SHA256.digest([0x01] + l[0] + l[1])
        #expect(MerkleHash.node(l[0], l[1]) == n01)
        #expect(tree(3).root() == SHA256.digest([0x01] + n01 + l[2]))
        #expect(l[0] == SHA256.digest([0x00]))
        // Inclusion of leaf 2 in the 3-tree is just [H(l0, l1)]; of leaf 0 it is [l1, l2].
        #expect(try MerkleTree.inclusionProof(index: 2, size: 3, store: tree(3)) == [n01])
        #expect(try MerkleTree.inclusionProof(index: 0, size: 3, store: tree(3)) == [l[1], l[2]])
    }

    @Test func inclusionProofsMatchAndVerify() throws {
        let t = tree(8)
        for (index, size, expected) in CTVectors.inclusion {
            let proof = try MerkleTree.inclusionProof(index: index, size: size, store: t)
            #expect(proof == expected.map { Hex.decode($0)! }, "(\(index), \(size))")
            let leaf = MerkleHash.leaf(CTVectors.leaves[Int(index)])
            let root = CTVectors.roots[Int(size) - 1]
            #expect(ProofVerification.inclusion(index: index, size: size, leafHash: leaf, proof: proof, root: root))
            // The manglings Trillian's verifier test tries must all fail.
            #expect(!ProofVerification.inclusion(index: index + 1, size: size, leafHash: leaf, proof: proof, root: root))
            if index > 0 { #expect(!ProofVerification.inclusion(index: index - 1, size: size, leafHash: leaf, proof: proof, root: root)) }
            #expect(!ProofVerification.inclusion(index: index, size: size * 2, leafHash: leaf, proof: proof, root: root))
            #expect(!ProofVerification.inclusion(index: index, size: size, leafHash: MerkleHash.leaf([9]), proof: proof, root: root))
            #expect(!ProofVerification.inclusion(index: index, size: size, leafHash: leaf, proof: proof, root: MerkleHash.emptyRoot))
            #expect(!ProofVerification.inclusion(index: index, size: size, leafHash: leaf, proof: proof + [root], root: root))
            #expect(!ProofVerification.inclusion(index: index, size: size, leafHash: leaf, proof: [root] + proof, root: root))
            if !proof.isEmpty {
                #expect(!ProofVerification.inclusion(index: index, size: size, leafHash: leaf, proof: Array(proof.dropLast()), root: root))
            }
        }
        #expect(!ProofVerification.inclusion(index: 0, size: 0, leafHash: MerkleHash.emptyRoot, proof: [], root: MerkleHash.emptyRoot))
    }

    @Test func consistencyProofsMatchAndVerify() throws {
        let t = tree(8)
        for (m, n, expected) in CTVectors.consistency {
            let proof = try MerkleTree.consistencyProof(first: m, second: n, store: t)
            #expect(proof == expected.map { Hex.decode($0)! }, "(\(m), \(n))")
            let r1 = CTVectors.roots[Int(m) - 1], r2 = CTVectors.roots[Int(n) - 1]
            #expect(ProofVerification.consistency(first: m, second: n, firstRoot: r1, secondRoot: r2, proof: proof))
            #expect(!ProofVerification.consistency(first: m, second: n, firstRoot: r2, secondRoot: r1, proof: proof))
            #expect(!ProofVerification.consistency(first: m + 1, second: n, firstRoot: r1, secondRoot: r2, proof: proof))
            #expect(!ProofVerification.consistency(first: m, second: n, firstRoot: r1, secondRoot: MerkleHash.emptyRoot, proof: proof))
            #expect(!ProofVerification.consistency(first: m, second: n, firstRoot: r1, secondRoot: r2, proof: []))
            #expect(!ProofVerification.consistency(first: m, second: n, firstRoot: r1, secondRoot: r2, proof: proof + [r1]))
        }
        #expect(!ProofVerification.consistency(first: 2, second: 1, firstRoot: CTVectors.roots[1], secondRoot: CTVectors.roots[0], proof: []))
    }

    /// Every (index, size) and (m, n) up to 33 leaves: generated proofs verify against the roots.
    @Test func allSmallProofsRoundTrip() throws {
        let t = MemoryTree()
        for i in 0..<33 { t.append(entry: [UInt8(i), 7]) }
        for n in UInt64(1)...33 {
            let root = t.root(size: n)
            for i in 0..<n {
                let p = try MerkleTree.inclusionProof(index: i, size: n, store: t)
                #expect(ProofVerification.inclusion(index: i, size: n, leafHash: MerkleHash.leaf([UInt8(i), 7]), proof: p, root: root))
            }
            for m in UInt64(1)...n {
                let p = try MerkleTree.consistencyProof(first: m, second: n, store: t)
                #expect(ProofVerification.consistency(first: m, second: n, firstRoot: t.root(size: m), secondRoot: root, proof: p))
            }
        }
    }

    @Test func checkpointFormatAndSignature() throws {
        let key = try SigningKey.generate(name: "example.org/log")
        let cp = Checkpoint(origin: "example.org/log", size: 8, root: CTVectors.roots[7])
        #expect(cp.text == "example.org/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")
        let note = try cp.signed(by: key)
        let back = try Checkpoint.verify(note: Array(note.serialized.utf8), key: key.verifierKey)
        #expect(back == cp)
        #expect(throws: CheckpointError.self) { _ = try Checkpoint.parse(text: "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n") }
        #expect(throws: CheckpointError.self) { _ = try Checkpoint.parse(text: "o\n8\nshort\n") }
        let other = try SigningKey.generate(name: "other.org/log")
        #expect(throws: CheckpointError.self) { _ = try Checkpoint(origin: "example.org/log", size: 1, root: CTVectors.roots[0]).signed(by: other) }
    }

    /// Wrong-origin checkpoints: another log's (signed by its own key) fails the pinned key's
    /// signature check; one whose text names another origin, even signed by the pinned key, is refused.
    @Test func wrongOriginCheckpointsAreRefused() throws {
        let key = try SigningKey.generate(name: "example.org/log")
        let other = try SigningKey.generate(name: "other.org/log")
        let foreign = try Checkpoint(origin: "other.org/log", size: 8, root: CTVectors.roots[7]).signed(by: other)
        #expect(throws: (any Error).self) { _ = try Checkpoint.verify(note: Array(foreign.serialized.utf8), key: key.verifierKey) }
        let relabelled = try SignedNote.sign(text: "other.org/log\n8\n" + Base64.encode(CTVectors.roots[7]) + "\n", with: key)
        #expect(throws: CheckpointError.originMismatch(expected: "example.org/log", key: "other.org/log")) {
            _ = try Checkpoint.verify(note: Array(relabelled.serialized.utf8), key: key.verifierKey)
        }
    }
}
