/// The experts a token may use, of any number (expert 0 is the anchor's FFN): every expert, or an
/// ascending list. Posterior and signature routing restrict tokens to small sets — the anchor and
/// one or two contributed experts — out of however many a release holds; a list costs the gate
/// O(set) per token instead of O(experts), and no bit width caps the experts (masks of 32 bits did).
public struct ExpertSet: Hashable, Sendable, CustomStringConvertible {
    /// Ascending and unique; nil for every expert.
    public let members: [Int]?

    public static let all = ExpertSet(members: nil)

    private init(members: [Int]?) { self.members = members }

    public init(_ experts: some Sequence<Int>) {
        members = Array(Set(experts)).sorted()
        precondition(members!.first.map { $0 >= 0 } ?? true, "expert indices are non-negative")
    }

    public func contains(_ e: Int) -> Bool {
        guard let members else { return true }
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if members[mid] < e { lo = mid + 1 } else { hi = mid }
        }
        return lo < members.count && members[lo] == e
    }

    public var description: String { members.map { "{" + $0.map(String.init).joined(separator: ",") + "}" } ?? "all" }
}
