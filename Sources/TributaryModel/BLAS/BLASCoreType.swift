import COpenBLAS
import Foundation

/// Debian's OpenBLAS 0.3.21 misdetects some newer CPUs (it reports "Prescott" on them) and then runs
/// its generic SSE kernels, about 4x slower than the AVX-512 ones. OpenBLAS reads `OPENBLAS_CORETYPE`
/// only while loading, before any of our code runs, so when the detected core is one of the old
/// generic ones but the CPU has AVX-512 or AVX2, we set the variable and re-execute ourselves once.
public enum BLASCoreType {
    /// Old cores OpenBLAS falls back to; none of them uses AVX2.
    static let genericCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                            "athlon", "opteron", "opteron_sse3", "barcelona", "bobcat", "katmai",
                                            "coppermine", "northwood", "banias", "sse_generic", "generic"]

    /// The core type we would ask for on this CPU, or nil when OpenBLAS's own choice is fine.
    public static func preferredOverride(detected: String = BLASThreads.coreName) -> String? {
        guard genericCores.contains(detected.lowercased()) else { return nil }
        let flags = cpuFlags()
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Call first thing in `main`. Re-executes the process with `OPENBLAS_CORETYPE` set when needed;
    /// returns normally otherwise (including when the variable is already set by the user or by us).
    public static func reexecIfMisdetected() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = preferredOverride() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        // On success execv does not return; on failure we carry on with the slow kernels.
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }

    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
