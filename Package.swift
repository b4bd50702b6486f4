// swift-tools-version:6.0
import PackageDescription

let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Tributary",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tributary", targets: ["tributary"]),
        .library(name: "TributaryCore", targets: ["TributaryCore"]),
        .library(name: "TributaryModel", targets: ["TributaryModel"]),
        .library(name: "TributaryRouting", targets: ["TributaryRouting"]),
        .library(name: "TributaryLog", targets: ["TributaryLog"]),
        .library(name: "TributaryServer", targets: ["TributaryServer"]),
        .library(name: "TributaryClient", targets: ["TributaryClient"]),
        .library(name: "TributaryAudit", targets: ["TributaryAudit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System C libraries, installed from Debian's -dev packages by scripts/setup.sh.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        .target(name: "TributaryCore", dependencies: ["CSodium", "CLibCrypto"]),
        // The numeric kernels are optimised even in debug builds: unoptimised they run 10-50x slower,
        // which would make the test suite (debug, by design) take most of CI's budget.
        .target(name: "TributaryModel", dependencies: ["TributaryCore", "COpenBLAS"], swiftSettings: optimisedInDebug),
        .target(name: "TributaryRouting", dependencies: ["TributaryCore", "TributaryModel"], swiftSettings: optimisedInDebug),
        .target(name: "TributaryLog", dependencies: ["TributaryCore"]),
        .target(
            name: "TributaryServer",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryLog", "CSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        // The HTTP client side of the protocol: submit, revoke, log and release downloads.
        .target(
            name: "TributaryClient",
            dependencies: [
                "TributaryCore", "TributaryLog",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // `tributary audit`: everything checked from public material.
        .target(name: "TributaryAudit", dependencies: ["TributaryCore", "TributaryLog", "TributaryClient"]),
        // The end-to-end scenario (corpora, orchestration, evaluation), shared by `tributary demo` and the tests.
        .target(
            name: "TributaryDemo",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryLog", "TributaryClient", "TributaryAudit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .executableTarget(
            name: "tributary",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryLog", "TributaryServer", "TributaryClient", "TributaryAudit", "TributaryDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "TributaryCoreTests", dependencies: ["TributaryCore"]),
        .testTarget(name: "TributaryModelTests", dependencies: ["TributaryModel"]),
        .testTarget(name: "TributaryRoutingTests", dependencies: ["TributaryRouting"]),
        .testTarget(name: "TributaryLogTests", dependencies: ["TributaryLog"]),
        .testTarget(name: "TributaryServerTests", dependencies: [
            "TributaryServer", "TributaryClient", "TributaryAudit", "TributaryDemo",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .testTarget(name: "TributaryDemoTests", dependencies: ["TributaryDemo"]),
        // Runs the built `tributary` executable as a user would.
        .testTarget(name: "TributaryCLITests", dependencies: ["TributaryCore", "TributaryClient", "TributaryLog", "TributaryDemo", "tributary"]),
    ]
)
