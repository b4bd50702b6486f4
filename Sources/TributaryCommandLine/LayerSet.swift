import ArgumentParser
import TributaryCore

/// A set of model layers on the command line: `all`, a range `22-29`, a list `0,4,7`, or a mix
/// `0,20-29`. Which layers get an expert (`train --expert-layers`) and which sets a server accepts
/// (`serve --expert-layers`, repeatable).
public struct LayerSet: ExpressibleByArgument, Sendable, Equatable {
    /// Ascending, distinct; nil means every layer of the model.
    public let layers: [Int]?

    public init(layers: [Int]?) { self.layers = layers }

    public init?(argument: String) {
        if argument == "all" { layers = nil; return }
        var out = Set<Int>()
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = Int(ends[0]), let b = Int(ends.last!), a >= 0, a <= b, b < ModelBounds.maxLayers else { return nil }
            out.formUnion(a...b)
        }
        layers = out.sorted()
    }

    /// The layers of a model of `count` layers; a clear error for any beyond it.
    public func resolve(count: Int) throws -> [Int] {
        guard let layers else { return Array(0..<count) }
        guard layers.last! < count else {
            throw TributaryError("train.invalid_options", "layer \(layers.last!) does not exist: the model has layers 0-\(count - 1)")
        }
        return layers
    }

    public static var defaultCompletionKind: CompletionKind { .default }

    public var defaultValueDescription: String { layers.map(ContributionPolicy.describe) ?? "all" }
}
