import Foundation
import Hummingbird
import NIOCore
import TributaryCore

/// Why a request body was not read.
public enum RequestBodyError: CodedError, Equatable {
    case tooLarge(limit: Int)
    case timeout(seconds: Double)

    public var code: String {
        switch self {
        case .tooLarge: return "upload.too_large"
        case .timeout: return "api.timeout"
        }
    }

    public var message: String {
        switch self {
        case let .tooLarge(limit): return "the request body is larger than \(limit) bytes"
        case let .timeout(s): return "the request body did not arrive within \(Int(s.rounded(.up))) s"
        }
    }
}

/// A deadline on reading a connection's input: when it passes, the input side is shut, so a body
/// that trickles one byte every 20 s ends at its deadline, not at its next byte. The output side
/// stays open for the answer (408), after which the connection is closed.
public final class InputDeadline: @unchecked Sendable {
    private let lock = NSLock()
    private var isExpired = false
    private var timer: Task<Void, Never>?
    private let channel: any Channel

    public init(after seconds: Double, channel: any Channel) {
        self.channel = channel
        let timer = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            guard !Task.isCancelled else { return }
            self?.expire()
        }
        lock.withLock { self.timer = timer }
    }

    /// Expire now (a watchdog found the input too slow): the same as the deadline passing.
    public func expire() {
        lock.withLock {
            isExpired = true
            timer?.cancel()
        }
        channel.close(mode: .input, promise: nil)
    }

    public var expired: Bool { lock.withLock { isExpired } }

    /// Reading is over (finished or refused): the deadline no longer matters.
    public func cancel() { lock.withLock { timer?.cancel() } }
}

public enum RequestBodies {
    /// The request body, at most `limit` bytes, arriving within `deadline` seconds however it trickles.
    public static func collect(_ request: Request, context: ServiceRequestContext, limit: Int, deadline: Double) async throws -> [UInt8] {
        let clock = InputDeadline(after: deadline, channel: context.channel)
        defer { clock.cancel() }
        // Also by the clock at every chunk: on a loaded machine the timer may wake after the bytes came.
        let end = Date().addingTimeInterval(deadline)
        var out = [UInt8]()
        do {
            for try await buffer in request.body {
                guard !clock.expired, Date() < end else { throw RequestBodyError.timeout(seconds: deadline) }
                guard out.count + buffer.readableBytes <= limit else { throw RequestBodyError.tooLarge(limit: limit) }
                out += buffer.readableBytesView
            }
        } catch where clock.expired {
            throw RequestBodyError.timeout(seconds: deadline)
        }
        // The input shut at the deadline ends the body early: what arrived is not the body.
        guard !clock.expired else { throw RequestBodyError.timeout(seconds: deadline) }
        return out
    }
}
