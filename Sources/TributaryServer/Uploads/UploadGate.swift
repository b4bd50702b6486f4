import Foundation

/// Bounds what uploads can take before they are verified. Two pools: uploads whose envelope has not
/// been checked yet (`maxPending`: anyone can open one, so they hold no upload slot, and the
/// `UploadClock` cuts each at the envelope deadline), and admitted uploads, whose envelope carried an
/// enrolled organisation's valid signature (`maxUploads` in all, `maxPerOrganisation` each). Staged
/// bytes of all of them together are bounded too. Beyond a bound the answer is 503 with Retry-After,
/// not a queue that grows without end.
public actor UploadGate {
    public let maxUploads: Int
    public let maxPerOrganisation: Int
    public let maxStagedBytes: UInt64
    public let maxPending: Int
    private var pending = 0
    private var active = 0
    private var perOrganisation: [String: Int] = [:]
    private var staged: UInt64 = 0

    public init(maxUploads: Int, maxPerOrganisation: Int, maxStagedBytes: UInt64, maxPending: Int) {
        self.maxUploads = maxUploads
        self.maxPerOrganisation = maxPerOrganisation
        self.maxStagedBytes = maxStagedBytes
        self.maxPending = maxPending
    }

    /// One more upload whose envelope is still to come; throws `api.busy` when `maxPending` are waiting.
    public func enter() throws {
        guard pending < maxPending else { throw ServerError.busy("\(pending) uploads are waiting for their envelope to arrive, the most this server takes at once") }
        pending += 1
    }

    /// The upload's envelope verified and names `organisation`: it takes an upload slot (throws
    /// `api.busy` when all are taken, or beyond the organisation's share).
    public func admit(organisation: String) throws {
        guard active < maxUploads else { throw ServerError.busy("\(active) uploads are in progress, the most this server takes at once") }
        let n = perOrganisation[organisation, default: 0]
        guard n < maxPerOrganisation else { throw ServerError.busy("\(organisation) already has \(n) uploads in progress") }
        pending -= 1
        active += 1
        perOrganisation[organisation] = n + 1
    }

    /// `bytes` more staged on disk; throws `api.busy` when all uploads together would pass the bound.
    public func stage(_ bytes: UInt64) throws {
        guard staged + bytes <= maxStagedBytes else {
            throw ServerError.busy("staged uploads already hold \(staged) bytes of the \(maxStagedBytes) this server allows")
        }
        staged += bytes
    }

    /// The upload is over (committed, refused or cut off): its place, its share and its staged bytes
    /// are freed. `organisation` is nil when it was never admitted.
    public func leave(organisation: String?, stagedBytes: UInt64) {
        if let organisation {
            active -= 1
            if let n = perOrganisation[organisation] { perOrganisation[organisation] = n > 1 ? n - 1 : nil }
        } else {
            pending -= 1
        }
        staged -= min(stagedBytes, staged)
    }

    /// Admitted uploads in progress.
    public var inProgress: Int { active }
    /// Uploads waiting for their envelope.
    public var waiting: Int { pending }
}
