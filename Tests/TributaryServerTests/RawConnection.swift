import Foundation
import Hummingbird
import TributaryCore

/// A plain TCP connection to a test server on loopback, for what an HTTP client library will not do:
/// send half a request, trickle a body, see when the server closes.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// `readUntilClosedBlocking` on a thread of its own: the blocking reads never hold one of the
    /// cooperative threads the server in this process (and the watchdogs under test) run on.
    func readUntilClosed(timeout: Double) async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { done in
            Thread { done.resume(returning: self.readUntilClosedBlocking(timeout: timeout)) }.start()
        }
    }

    /// Everything the server sends until it closes the connection or `timeout` seconds pass; and
    /// whether it closed.
    func readUntilClosedBlocking(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var out = [UInt8](), buffer = [UInt8](repeating: 0, count: 65536)
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out += buffer[..<n]
        }
        return (out, false)
    }

    /// The status code of the first response in `bytes`.
    static func status(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }
}

/// Runs `router` as an HTTP application on a loopback port of its own while `body` runs.
func withApplication<Context: RequestContext>(_ router: Router<Context>, _ body: (Int) async throws -> Void) async throws
    where Context.Source == ApplicationRequestContextSource {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
    let run = ServiceRun(app)
    var it = ports.makeAsyncIterator()
    guard let port = await it.next() else { await run.stop(); throw TributaryError("test.server", "the test application did not start") }
    do { try await body(port) } catch { await run.stop(); throw error }
    await run.stop()
}
