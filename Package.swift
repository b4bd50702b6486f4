// swift-tools-version:6.0
import PackageDescription

// The numeric kernels are optimised even in debug builds: unoptimised they run 10-50x slower, which
// would make the test suite (debug, by design) take most of CI's budget. SwiftPM refuses
// `unsafeFlags` in a package used as a dependency, so the modules are for this repository's own
// executables and tests only: the package offers no library products (README, "Layout").
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Tributary",
    platforms: [.macOS(.v14)],
    products: [
        // The formats and the log, for the libFuzzer targets of scripts/fuzz (a package of their own,
        // since a fuzz target has no main). Neither has unsafe flags; nothing else is a library.
        .library(name: "TributaryCore", targets: ["TributaryCore"]),
        .library(name: "TributaryLog", targets: ["TributaryLog"]),
        // What owners, operators and auditors run.
        .executable(name: "tributary", targets: ["tributary"]),
        // Benchmarks, drills and research evaluations, for Tributary's own developers.
        .executable(name: "tributary-dev", targets: ["tributary-dev"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Only for the tests' servers, run and stopped the way `tributary serve` runs (Hummingbird's own dependency).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System C libraries, installed from Debian's -dev packages by scripts/setup.sh.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Formats and crypto: JSON, safetensors, keys, signed notes, DSSE/in-toto, bundles, tensor names.
        .target(name: "TributaryCore", dependencies: ["CSodium", "CLibCrypto"]),
        // The engine: tensors, kernels, the Llama/Mixtral model, training, evaluation. Knows no protocol file.
        .target(name: "TributaryModel", dependencies: ["TributaryCore", "COpenBLAS"], swiftSettings: optimisedInDebug),
        // Embeddings, DP clustering and accounting, routing signatures, routers.
        .target(name: "TributaryRouting", dependencies: ["TributaryCore", "TributaryModel"], swiftSettings: optimisedInDebug),
        // The contribution layer: anchor directories, expert files, the owner's pipeline, FlexOlmo's merge.
        .target(name: "TributaryContribution", dependencies: ["TributaryCore", "TributaryModel", "TributaryRouting"]),
        // Merkle tree, checkpoints, proofs, log entries, release manifests, signed requests.
        .target(name: "TributaryLog", dependencies: ["TributaryCore"]),
        // The HTTP API's contract, shared by the server and every client: URL paths, and one typed
        // request or answer per endpoint (written by one side, read by the other).
        .target(name: "TributaryAPI", dependencies: ["TributaryCore", "TributaryLog"]),
        // What the HTTP services (server and witness) share: listening (TLS, idle timeout, the plain-HTTP
        // guard), the request context with its connection, bodies read within a deadline.
        .target(
            name: "TributaryHTTP",
            dependencies: [
                "TributaryCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "TributaryWitness",
            dependencies: [
                "TributaryCore", "TributaryLog", "TributaryHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .target(
            name: "TributaryServer",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI", "TributaryHTTP", "CSQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        // The HTTP client side of the protocol: submit, revoke, log and release downloads.
        .target(
            name: "TributaryClient",
            dependencies: [
                "TributaryCore", "TributaryLog", "TributaryAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // `tributary audit`: everything checked from public material. Knows no model code.
        .target(name: "TributaryAudit", dependencies: ["TributaryCore", "TributaryLog", "TributaryAPI", "TributaryClient"]),
        // What the demo and the developer tools share: corpora from Debian packages, the CLI run as a
        // child process, a server process.
        .target(name: "TributaryHarness", dependencies: ["TributaryCore", "TributaryModel", "TributaryAPI", "TributaryClient"]),
        // The end-to-end scenario (orchestration of the roles' processes, evaluation, the report).
        .target(
            name: "TributaryDemo",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI", "TributaryClient",
                "TributaryAudit", "TributaryHarness",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        // Option groups, error reporting and the auditor's model hooks shared by both executables
        // (and the tests that audit as they do).
        .target(
            name: "TributaryCommandLine",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "tributary",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI", "TributaryServer",
                "TributaryWitness", "TributaryHTTP", "TributaryClient", "TributaryAudit", "TributaryDemo", "TributaryCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Developer tooling, kept out of the product: a small real deployment for tests and drills,
        // the fault drill, the load test, routing-accuracy measurements.
        .target(
            name: "TributaryDevTools",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI", "TributaryClient",
                "TributaryAudit", "TributaryHarness",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .executableTarget(
            name: "tributary-dev",
            dependencies: [
                "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI", "TributaryServer",
                "TributaryClient", "TributaryAudit", "TributaryDemo", "TributaryHarness", "TributaryDevTools", "TributaryCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Scratch directories, the package root and the independent checkers, for every test target.
        .target(name: "TributaryTestSupport", dependencies: ["TributaryCore"], path: "Tests/TributaryTestSupport"),
        .testTarget(name: "TributaryCoreTests", dependencies: ["TributaryCore", "TributaryTestSupport"]),
        .testTarget(name: "TributaryModelTests", dependencies: ["TributaryCore", "TributaryModel", "TributaryTestSupport"]),
        .testTarget(name: "TributaryRoutingTests", dependencies: ["TributaryCore", "TributaryModel", "TributaryRouting", "TributaryTestSupport"]),
        .testTarget(name: "TributaryContributionTests", dependencies: [
            "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryTestSupport",
        ]),
        .testTarget(name: "TributaryLogTests", dependencies: ["TributaryCore", "TributaryLog"]),
        .testTarget(name: "TributaryAPITests", dependencies: ["TributaryCore", "TributaryLog", "TributaryAPI"]),
        .testTarget(name: "TributaryWitnessTests", dependencies: ["TributaryCore", "TributaryLog", "TributaryWitness", "TributaryTestSupport"]),
        .testTarget(name: "TributaryServerTests", dependencies: [
            "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryLog", "TributaryAPI",
            "TributaryServer", "TributaryWitness", "TributaryHTTP", "TributaryClient", "TributaryAudit", "TributaryDevTools", "TributaryTestSupport",
            "TributaryCommandLine",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "TributaryDemoTests", dependencies: [
            "TributaryCore", "TributaryModel", "TributaryRouting", "TributaryContribution", "TributaryDemo", "TributaryHarness", "TributaryDevTools",
            "TributaryTestSupport",
        ]),
        // Runs the built executables as a user would.
        .testTarget(name: "TributaryCLITests", dependencies: ["TributaryCore", "TributaryClient", "TributaryLog", "TributaryDemo", "TributaryHarness", "TributaryTestSupport",
                                                              "TributaryDevTools", "tributary", "tributary-dev"]),
    ]
)
