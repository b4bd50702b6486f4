import Foundation
import TributaryCore

/// The deadlines of one upload, whatever its bytes' pace: the envelope (the first archive entry, all
/// that is read before the uploader is authenticated) within `envelopeSeconds`; the whole upload within
/// `totalSeconds`; and once the envelope's time is over, at least `minBytesPerSecond` on average. The
/// route's watchdog asks `overdue` four times a second and shuts the connection's input when a deadline
/// passes, so a connection trickling one byte every 20 s loses its place at its deadline, not at its
/// next byte; the upload then fails with the reason recorded here.
public final class UploadClock: @unchecked Sendable {
    let start = Date()
    let envelopeSeconds: Double
    let totalSeconds: Double
    let minBytesPerSecond: Double
    private let lock = NSLock()
    private var bytes = 0
    private var envelopeAt: Date?
    private var admittedAt: Date?
    private var complete = false
    private var expiredBecause: (any CodedError)?

    public init(envelopeSeconds: Double, totalSeconds: Double, minBytesPerSecond: Double) {
        self.envelopeSeconds = envelopeSeconds
        self.totalSeconds = totalSeconds
        self.minBytesPerSecond = minBytesPerSecond
    }

    func received(_ n: Int) { lock.withLock { bytes += n } }
    /// The envelope's last byte arrived: its deadline is met (checking it is the server's time).
    func envelopeArrived() { lock.withLock { envelopeAt = Date() } }
    func admitted() { lock.withLock { admittedAt = Date() } }
    /// Every byte arrived: verification's time is not the uploader's.
    func bodyComplete() { lock.withLock { complete = true } }

    /// The deadline that has passed at `now`, if any.
    public func overdue(now: Date = Date()) -> (any CodedError)? {
        lock.withLock {
            guard !complete else { return nil }
            let elapsed = now.timeIntervalSince(start)
            if elapsed > totalSeconds { return ArchiveError.timeout(seconds: Int(totalSeconds)) }
            if envelopeAt == nil {
                return elapsed > envelopeSeconds ? UploadPaceError.envelopeLate(seconds: envelopeSeconds) : nil
            }
            // From admission on (the server's own checks are not the uploader's time), after a grace of
            // the envelope's time, the average pace since the start.
            guard let admittedAt else { return nil }
            let paced = now.timeIntervalSince(admittedAt) - envelopeSeconds
            if paced > 0, Double(bytes) < minBytesPerSecond * paced {
                return UploadPaceError.tooSlow(bytesPerSecond: Double(bytes) / elapsed, minimum: minBytesPerSecond)
            }
            return nil
        }
    }

    /// Records why the input was cut (the watchdog's finding).
    public func expire(_ why: any CodedError) { lock.withLock { if expiredBecause == nil { expiredBecause = why } } }

    /// Why the upload was cut, if it was.
    public var expired: (any CodedError)? { lock.withLock { expiredBecause } }
}

/// An upload that kept its connection without sending.
public enum UploadPaceError: CodedError {
    case envelopeLate(seconds: Double)
    case tooSlow(bytesPerSecond: Double, minimum: Double)

    public var code: String {
        switch self {
        case .envelopeLate: return "upload.envelope_timeout"
        case .tooSlow: return "upload.too_slow"
        }
    }

    public var message: String {
        switch self {
        case let .envelopeLate(s):
            return String(format: "the envelope (the archive's first entry) did not arrive within %.0f s; nothing is read before it is checked", s)
        case let .tooSlow(rate, minimum):
            return String(format: "the upload arrived at %.0f bytes/s, below the server's minimum of %.0f", rate, minimum)
        }
    }
}
