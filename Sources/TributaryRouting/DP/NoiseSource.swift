import Foundation
import TributaryCore
import TributaryModel

/// Where Gaussian noise comes from. Releases use the CSPRNG; tests use a seeded generator so that
/// privacy experiments are repeatable.
public protocol NoiseSource {
    /// A standard normal sample.
    mutating func gaussian() -> Double
}

/// Box–Muller over 53-bit uniforms from libsodium's CSPRNG. (Floating-point Gaussian samplers are not
/// hardened against Mironov-style least-significant-bit attacks; protocol/SPEC.md §6 says so.)
public struct SecureNoise: NoiseSource {
    private var spare: Double?
    public init() {}

    public mutating func gaussian() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        func uniform() -> Double {
            let b = secureRandomBytes(8)
            let v = b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 11
            return (Double(v) + 0.5) * 0x1p-53  // in (0, 1)
        }
        let r = (-2 * log(uniform())).squareRoot(), t = 2 * Double.pi * uniform()
        spare = r * sin(t)
        return r * cos(t)
    }
}

public struct SeededNoise: NoiseSource {
    var rng: RNG
    public init(seed: UInt64) { rng = RNG(seed: seed) }
    public mutating func gaussian() -> Double { rng.normal() }
}
