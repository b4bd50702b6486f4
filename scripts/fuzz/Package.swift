// swift-tools-version:5.4
// libFuzzer targets for Tributary's parsers. Built by scripts/fuzz.sh with `-sanitize=fuzzer`; not part
// of the main package because a fuzz target has no main() of its own (libFuzzer provides it), and
// tools-version 5.4 because later versions rename an executable's entry point, which libFuzzer's
// main cannot call.
import PackageDescription

let core = Target.Dependency.product(name: "TributaryCore", package: "Tributary")
let log = Target.Dependency.product(name: "TributaryLog", package: "Tributary")
let flags = [SwiftSetting.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "TributaryFuzz",
    dependencies: [.package(name: "Tributary", path: "../..")],
    targets: [
        .executableTarget(name: "FuzzSafetensorsHeader", dependencies: [core], swiftSettings: flags),
        .executableTarget(name: "FuzzEnvelope", dependencies: [core], swiftSettings: flags),
        .executableTarget(name: "FuzzBundleArchive", dependencies: [core], swiftSettings: flags),
        .executableTarget(name: "FuzzSignedRequest", dependencies: [core, log], swiftSettings: flags),
        .executableTarget(name: "FuzzAuditInputs", dependencies: [core, log], swiftSettings: flags),
    ]
)
