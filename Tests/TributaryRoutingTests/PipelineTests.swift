import Foundation
import Testing
import TributaryCore
import TributaryModel
@testable import TributaryRouting

final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "tributary-routing-" + Hex.encode(secureRandomBytes(8))
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

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

/// Up to `limit` files of `dir` with `ext`, each cut to `bytes`; nil when the directory is absent.
func domain(_ dirs: [String], ext: [String], limit: Int, bytes: Int = 4096) -> Corpus? {
    var o = Corpus.LoadOptions()
    o.extensions = ext
    o.maxDocumentBytes = bytes
    o.minDocumentBytes = 256
    guard var c = try? Corpus.load(paths: dirs.filter { FileManager.default.fileExists(atPath: $0) }, options: o) else { return nil }
    // Spread the picks over the whole tree rather than its first directory.
    let stride = max(1, c.documents.count / limit)
    c.documents = Array(c.documents.enumerated().filter { $0.offset % stride == 0 }.map(\.element).prefix(limit))
    return c
}

func anchor(_ dir: TempDir, public text: Corpus, steps: Int = 40) throws -> AnchorDirectory {
    _ = try AnchorTraining.train(config: tiny, train: text, heldOut: nil, options: options(steps: steps), out: dir.path + "/anchor",
                                 restart: false, progress: nil) { stats in
        AnchorRouting.centroids(stats, layers: tiny.numLayers, hidden: tiny.hiddenSize, clusters: 2, seed: 1)
    }
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
        try ContributionBundle.sign(directory: r.bundle, key: key)
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
        var noise = SecureNoise()
        let first = try ContributionPipeline.train(anchor: a, data: data, training: o, signature: sig, out: dir.path + "/owner",
                                                   restart: false, progress: nil, noise: &noise)
        #expect(first.training.stoppedEarly)
        o.stopAfter = nil
        let second = try ContributionPipeline.train(anchor: a, data: data, training: o, signature: sig, out: dir.path + "/owner",
                                                    restart: false, progress: nil, noise: &noise)
        #expect(second.reusedSignature)
        #expect(second.training.resumedFrom == 2)
        #expect(second.signature.routerRows == first.signature.routerRows)
        let other = Corpus(documents: Array(data.documents.dropFirst()))
        #expect(throws: TributaryError.self) {
            _ = try ContributionPipeline.train(anchor: a, data: other, training: o, signature: sig, out: dir.path + "/owner",
                                               restart: false, progress: nil, noise: &noise)
        }
    }

    /// Held-out documents of three real domains (C headers, Python source, licence texts from Debian
    /// packages scripts/setup.sh installs) routed by their DP signatures: far better than chance.
    @Test func routingSendsEachDomainToItsExpert() throws {
        guard let c = domain(["/usr/include/linux", "/usr/include"], ext: [".h"], limit: 240),
              let py = domain(["/usr/lib/python3.11"], ext: [".py"], limit: 240),
              let legal = domain(["/usr/share/common-licenses", "/usr/share/doc"], ext: ["copyright", "gpl-2", "gpl-3", "apache-2.0", "lgpl-2.1", "artistic", "mpl-2.0"], limit: 240)
        else {
            Issue.record("demo corpora missing: run scripts/setup.sh (linux-libc-dev, libpython3.11-stdlib, base-files)")
            return
        }
        guard let prose = domain(["/usr/share/games/fortunes"], ext: [], limit: 60, bytes: 8192) else {
            Issue.record("public corpus missing: run scripts/setup.sh (fortunes)")
            return
        }
        let dir = TempDir()
        let a = try anchor(dir, public: prose, steps: 60)
        let pub = try a.publicCentroids()
        var experts: [RoutingIndex.Expert] = [.init(name: "anchor", centroids: pub.centroids, counts: pub.counts)]
        var heldOut = [(Int, Corpus)]()
        var sig = SignatureOptions()
        sig.clusters = 2
        sig.epsilon = 1
        let plan = try SignatureBuilder.plan(sig)
        for (i, corpus) in [c, py, legal].enumerated() {
            let (train, held) = corpus.split(heldOutFraction: 0.25)
            let stats = Evaluator.documentStatistics(model: a.model, corpus: train, center: a.embeddingCenter)
            var noise = SeededNoise(seed: UInt64(i + 1))
            let s = try SignatureBuilder.build(stats: stats, layers: tiny.numLayers, hidden: tiny.hiddenSize, options: sig, plan: plan, noise: &noise)
            experts.append(.init(name: ["c", "python", "legal"][i], centroids: s.centroids, counts: s.counts))
            print("domain \(i): \(train.documents.count) documents, \(s.k) centroids kept, counts \(s.counts)")
            heldOut.append((i + 1, held))
        }
        let router = CentroidRouter(index: RoutingIndex(dimension: tiny.hiddenSize, center: a.embeddingCenter, experts: experts), topK: 1)
        var correct = 0, total = 0
        var perDomain = [String]()
        for (expert, held) in heldOut {
            let q = Evaluator.documentStatistics(model: a.model, corpus: held, center: a.embeddingCenter).flatMap(\.embedding)
            let hits = router.route(q, count: held.documents.count).filter { $0.first?.expert == expert }.count
            perDomain.append("\(experts[expert].name) \(hits)/\(held.documents.count)")
            correct += hits
            total += held.documents.count
        }
        let accuracy = Double(correct) / Double(total)
        print("routing accuracy at ε = 1 (top-1 among anchor + 3 experts, chance 0.25): \(String(format: "%.3f", accuracy)) — \(perDomain.joined(separator: ", "))")
        #expect(accuracy > 0.7)
    }
}
