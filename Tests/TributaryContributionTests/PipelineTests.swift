import Foundation
import Testing
import TributaryCore
import TributaryModel
import TributaryRouting
@testable import TributaryContribution
@_exported import TributaryTestSupport

let tiny = ModelConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, contextLength: 64)

func options(steps: Int) -> TrainingOptions {
    var o = TrainingOptions()
    o.steps = steps
    o.batchSize = 8
    o.seqLen = 64
    o.learningRate = 3e-3
    o.warmupSteps = 2
    o.checkpointEvery = 0
    return o
}

func anchor(_ dir: TempDir, public text: Corpus, steps: Int = 40) throws -> AnchorDirectory {
    _ = try AnchorTraining.train(config: tiny, train: text, heldOut: nil, options: options(steps: steps), clusters: 2, out: dir.path + "/anchor",
                                 restart: false, progress: nil)
    return try AnchorDirectory.load(dir.path + "/anchor")
}

@Suite struct PipelineTests {
    /// A data owner's text must not appear in anything it publishes: scan every byte of every bundle
    /// file for any 16-byte run of the training documents.
    @Test func bundleContainsNoSixteenByteRunOfTrainingData() throws {
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<20).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "public anchor text number \($0). ", count: 20).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 10)
        var rng = RNG(seed: 5)
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
        let secret = Corpus(documents: (0..<60).map { i in
            Corpus.Document(source: "s\(i)", bytes: Array((0..<120).map { _ in words[rng.below(words.count)] }.joined(separator: " ").utf8))
        })
        var sig = SignatureOptions()
        sig.clusters = 2
        var noise = SeededNoise(seed: 9)
        let r = try ContributionPipeline.train(anchor: a, data: secret, training: options(steps: 5), signature: sig, out: dir.path + "/owner",
                                               restart: false, progress: nil, noise: &noise)
        let key = try SigningKey.generate(name: "owner")
        try ContributionBundle.sign(directory: r.bundle, key: key, origin: "tributary.test/log")
        _ = try ContributionBundle.verify(directory: r.bundle, keys: [key.verifierKey])

        var runs = Set<[UInt8]>()
        for d in secret.documents where d.bytes.count >= 16 {
            for i in 0...(d.bytes.count - 16) { runs.insert(Array(d.bytes[i..<i + 16])) }
        }
        #expect(runs.count > 1000)
        for name in BundleLayout.allFiles.sorted() {
            let data = [UInt8](FileManager.default.contents(atPath: r.bundle + "/" + name)!)
            var found = 0
            if data.count >= 16 { for i in 0...(data.count - 16) where runs.contains(Array(data[i..<i + 16])) { found += 1 } }
            #expect(found == 0, "\(name) contains \(found) 16-byte runs of training text")
        }
        // The scan can fail: the training text itself is caught.
        let leaked = secret.documents[0].bytes
        #expect(runs.contains(Array(leaked[3..<19])))
    }

    @Test func resumedRunReusesTheDPReleaseAndRefusesOtherData() throws {
        let dir = TempDir()
        let publicText = Corpus(documents: (0..<10).map { Corpus.Document(source: "p\($0)", bytes: Array(String(repeating: "anchor \($0) ", count: 40).utf8)) })
        let a = try anchor(dir, public: publicText, steps: 5)
        let data = Corpus(documents: (0..<40).map { Corpus.Document(source: "d\($0)", bytes: Array(String(repeating: "owner document \($0); ", count: 10).utf8)) })
        var o = options(steps: 6)
        o.checkpointEvery = 2
        o.stopAfter = 3
        var sig = SignatureOptions()
        sig.clusters = 1
        // Fresh noise each run: whether 40 toy documents' signature routes is chance, and not what
        // this test is about (SignatureCheckTests are); the release and its reuse are.
        sig.minSelfRouting = 0
        var noise = SecureNoise()
        let first = try ContributionPipeline.train(anchor: a, data: data, training: o, signature: sig, out: dir.path + "/owner",
                                                   restart: false, progress: nil, noise: &noise)
        #expect(first.training.stoppedEarly)
        o.stopAfter = nil
        let second = try ContributionPipeline.train(anchor: a, data: data, training: o, signature: sig, out: dir.path + "/owner",
                                                    restart: false, progress: nil, noise: &noise)
        #expect(second.reusedSignature)
        #expect(second.training.resumedFrom == 2)
        #expect(second.signature.centroids == first.signature.centroids)
        #expect(second.signature.counts == first.signature.counts)
        let other = Corpus(documents: Array(data.documents.dropFirst()))
        #expect(throws: TributaryError.self) {
            _ = try ContributionPipeline.train(anchor: a, data: other, training: o, signature: sig, out: dir.path + "/owner",
                                               restart: false, progress: nil, noise: &noise)
        }
    }
}
