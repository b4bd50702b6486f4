import Foundation

/// Bounds what uploads can take before they are verified: how many run at once (in all, and per
/// organisation once the envelope names it) and how many staged bytes they hold on disk together.
/// Beyond a bound the answer is 503 with Retry-After, not a queue that grows without end.
public actor UploadGate {
    public let maxUploads: Int
    public let maxPerOrganisation: Int
    public let maxStagedBytes: UInt64
    private var active = 0
    private var perOrganisation: [String: Int] = [:]
    private var staged: UInt64 = 0

    public init(maxUploads: Int, maxPerOrganisation: Int, maxStagedBytes: UInt64) {
        self.maxUploads = maxUploads
        self.maxPerOrganisation = maxPerOrganisation
        self.maxStagedBytes = maxStagedBytes
    }

    /// One more upload; throws `api.busy` when `maxUploads` are already running.
    public func enter() throws {
        guard active < maxUploads else { throw ServerError.busy("\(active) uploads are in progress, the most this server takes at once") }
        active += 1
    }

    /// The upload's envelope names `organisation`; throws `api.busy` beyond its share.
    public func claim(organisation: String) throws {
        let n = perOrganisation[organisation, default: 0]
        guard n < maxPerOrganisation else { throw ServerError.busy("\(organisation) already has \(n) uploads in progress") }
        perOrganisation[organisation] = n + 1
    }

    /// `bytes` more staged on disk; throws `api.busy` when all uploads together would pass the bound.
    public func stage(_ bytes: UInt64) throws {
        guard staged + bytes <= maxStagedBytes else {
            throw ServerError.busy("staged uploads already hold \(staged) bytes of the \(maxStagedBytes) this server allows")
        }
        staged += bytes
    }

    /// The upload is over (committed, refused or cut off): its share and its staged bytes are freed.
    public func leave(organisation: String?, stagedBytes: UInt64) {
        active -= 1
        if let organisation, let n = perOrganisation[organisation] { perOrganisation[organisation] = n > 1 ? n - 1 : nil }
        staged -= min(stagedBytes, staged)
    }

    public var inProgress: Int { active }
}
