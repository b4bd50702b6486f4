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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        // The end-to-end scenario (corpora, orchestration, evaluation), shared by `tributary demo` and the tests.
        .target(name: "TributaryDemo", dependencies: ["TributaryCore", "TributaryModel", "TributaryRouting"]),
        .executableTarget(
            name: "tributary",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "TributaryCoreTests", dependencies: ["TributaryCore"]),
        .testTarget(name: "TributaryModelTests", dependencies: ["TributaryModel"]),
        .testTarget(name: "TributaryRoutingTests", dependencies: ["TributaryRouting"]),
        .testTarget(name: "TributaryLogTests", dependencies: ["TributaryLog"]),
        .testTarget(name: "TributaryDemoTests", dependencies: ["TributaryDemo"]),
        // Runs the built `tributary` executable as a user would.
        .testTarget(name: "TributaryCLITests", dependencies: ["TributaryCore", "tributary"]),
    ]
)
