import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import TributaryCore

/// Where and how a Tributary service listens — the aggregation server and the witness alike: address,
/// TLS, and how long a silent connection stays open.
public struct Listener: Sendable {
    public var host: String
    public var port: Int
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Serve plain HTTP on an address other hosts reach (it needs saying: `--allow-plain-http`).
    public var allowPlainHTTP: Bool
    /// A connection that sends nothing for this long is closed.
    public var idleTimeoutSeconds: Int64

    public init(host: String, port: Int, tlsCertificate: String? = nil, tlsKey: String? = nil, allowPlainHTTP: Bool = false,
                idleTimeoutSeconds: Int64 = 30) {
        self.host = host
        self.port = port
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.allowPlainHTTP = allowPlainHTTP
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    /// Whether `host` is reachable only from this machine.
    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.") }

    /// Refuses plain HTTP on an address other hosts reach unless `allowPlainHTTP`; returns whether it
    /// is serving so anyway (the caller logs a warning).
    public func checkTransport(_ service: String) throws -> Bool {
        guard !isLoopback, tlsCertificate == nil else { return false }
        guard allowPlainHTTP else {
            throw TributaryError("server.plain_http", "refusing to serve \(service) over plain HTTP on \(host), which other hosts reach: give --tls-cert and --tls-key, or --allow-plain-http to accept the risk")
        }
        return true
    }

    /// Refuses settings that cannot work.
    public func validate() throws {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw TributaryError("server.invalid_config", why) } }
        try check((0...65535).contains(port), "the port must be in 0...65535")
        try check((tlsCertificate == nil) == (tlsKey == nil), "--tls-cert and --tls-key go together")
        try check((1...3600).contains(idleTimeoutSeconds), "the idle timeout must be 1 s to 1 h")
    }

    /// HTTP/1.1 with the idle timeout, over TLS when a certificate is given.
    public func serverBuilder() throws -> HTTPServerBuilder {
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(idleTimeoutSeconds)))
        guard let cert = tlsCertificate, let key = tlsKey else { return http }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try .tls(http, tlsConfiguration: tls)
    }
}
