import Metrics
import Prometheus

/// The Prometheus registry behind `/metrics` and the server's own series. swift-metrics can be
/// bootstrapped once per process, so this is a process-wide singleton.
public final class ServerMetrics: Sendable {
    public static let shared = ServerMetrics()

    public let registry: PrometheusCollectorRegistry
    let accepted: Metrics.Counter
    let logSize: Metrics.Gauge
    let releaseNumber: Metrics.Gauge

    private init() {
        registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        accepted = Metrics.Counter(label: "tributary_contributions_accepted_total")
        logSize = Metrics.Gauge(label: "tributary_log_size")
        releaseNumber = Metrics.Gauge(label: "tributary_release_number")
    }

    func refused(code: String) {
        Metrics.Counter(label: "tributary_contributions_refused_total", dimensions: [("code", code)]).increment()
    }

    /// The Prometheus text exposition of every series.
    public func render() -> [UInt8] {
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        return buffer
    }
}
