import COpenBLAS
import Foundation

/// Makes sure OpenBLAS runs the fastest kernels this CPU supports.
///
/// Debian's OpenBLAS 0.3.21 misdetects some newer CPUs ("Prescott") and then runs generic SSE kernels,
/// and environments sometimes pin `OPENBLAS_CORETYPE` to an older core (this build farm sets
/// `Haswell` on AVX-512 machines, which halves sgemm speed). OpenBLAS picks its kernels while loading,
/// before any of our code runs, so when the active core is weaker than the CPU allows we set
/// `OPENBLAS_CORETYPE` and re-execute ourselves, once.
///
/// `TRIBUTARY_BLAS_CORETYPE` overrides the choice: `keep` leaves OpenBLAS alone, any other value is
/// passed to OpenBLAS as the core type.
public enum BLASCoreType {
    enum Tier: Int, Comparable {
        case generic = 0, avx = 1, avx2 = 2, avx512 = 3
        static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }
    }

    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    static let avx2Cores: Set<String> = ["haswell", "zen", "skylake", "broadwell", "excavator"]
    static let avxCores: Set<String> = ["sandybridge", "bulldozer", "piledriver", "steamroller"]

    static func tier(ofCore name: String) -> Tier {
        let n = name.lowercased()
        if avx512Cores.contains(n) { return .avx512 }
        if avx2Cores.contains(n) { return .avx2 }
        if avxCores.contains(n) { return .avx }
        return .generic
    }

    static func cpuTier(_ flags: Set<String>) -> Tier {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) { return .avx512 }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return .avx2 }
        if flags.contains("avx") { return .avx }
        return .generic
    }

    /// The core type to ask for, or nil when the active one is already as good as the CPU allows.
    public static func preferredOverride(active: String = BLASThreads.coreName, flags: Set<String> = cpuFlags()) -> String? {
        let want = cpuTier(flags)
        guard tier(ofCore: active) < want else { return nil }
        switch want {
        case .avx512: return "SkylakeX"
        case .avx2: return "Haswell"
        case .avx: return "Sandybridge"
        case .generic: return nil
        }
    }

    /// What `reexecIfNeeded` would do, for `tributary-dev blas-info`.
    public static func decision() -> String {
        let env = ProcessInfo.processInfo.environment
        if let forced = env["TRIBUTARY_BLAS_CORETYPE"] { return forced == "keep" ? "keep (TRIBUTARY_BLAS_CORETYPE=keep)" : "forced \(forced)" }
        if let o = preferredOverride() { return "re-exec with OPENBLAS_CORETYPE=\(o)" }
        return "keep: \(BLASThreads.coreName) is the best this CPU supports"
    }

    /// Call first thing in a command that computes. Re-executes the process with `OPENBLAS_CORETYPE`
    /// set when needed (at most once); otherwise returns.
    public static func reexecIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["TRIBUTARY_BLAS_REEXECUTED"] == nil else { return }
        let core: String
        if let forced = env["TRIBUTARY_BLAS_CORETYPE"] {
            guard forced != "keep", forced.lowercased() != BLASThreads.coreName.lowercased() else { return }
            core = forced
        } else {
            guard let o = preferredOverride() else { return }
            core = o
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("TRIBUTARY_BLAS_REEXECUTED", "1", 1)
        // On success execv does not return; on failure we carry on with the kernels we have.
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }

    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
