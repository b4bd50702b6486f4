// swift-tools-version:5.4
// libFuzzer targets for Tributary's parsers. Built by scripts/fuzz.sh with `-sanitize=fuzzer`; not part
// of the main package because a fuzz target has no main() of its own (libFuzzer provides it).
import PackageDescription

let package = Package(
    name: "TributaryFuzz",
    dependencies: [.package(name: "Tributary", path: "../..")],
    targets: [
        .executableTarget(name: "FuzzSafetensorsHeader", dependencies: [.product(name: "TributaryCore", package: "Tributary")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "FuzzEnvelope", dependencies: [.product(name: "TributaryCore", package: "Tributary")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
