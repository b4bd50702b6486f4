import CSodium

/// libsodium must be initialised once per process before any other call; this does it lazily.
enum Sodium {
    static let ready: Bool = {
        // sodium_init returns 0 on success, 1 when already initialised, -1 on failure.
        sodium_init() >= 0
    }()

    static func ensureReady() {
        precondition(ready, "libsodium failed to initialise")
    }
}

/// Cryptographically secure random bytes from libsodium (getrandom(2) underneath).
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    Sodium.ensureReady()
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
    return out
}

/// Overwrites memory with zeros in a way the optimiser may not remove (sodium_memzero).
public func secureZero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buf in
        if let base = buf.baseAddress { sodium_memzero(base, buf.count) }
    }
}

/// BLAKE2b (libsodium's crypto_generichash), used where a fast keyed or unkeyed hash is enough:
/// deterministic derivations such as train/held-out splits and seed expansion.
public enum BLAKE2b {
    public static func hash<C: Collection>(_ data: C, outputLength: Int = 32, key: [UInt8] = []) -> [UInt8]
    where C.Element == UInt8 {
        Sodium.ensureReady()
        precondition(outputLength >= 16 && outputLength <= 64, "BLAKE2b output must be 16...64 bytes")
        var out = [UInt8](repeating: 0, count: outputLength)
        let input = Array(data)
        out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in
                key.withUnsafeBufferPointer { k in
                    _ = crypto_generichash(o.baseAddress!, outputLength, i.baseAddress, UInt64(input.count),
                                           k.count == 0 ? nil : k.baseAddress, k.count)
                }
            }
        }
        return out
    }
}
