/// Identities — log origins, key names, organisation names — are compared byte for byte. Swift's
/// `String ==` is Unicode canonical equivalence ("K", U+212A KELVIN SIGN, equals "K"), while
/// signatures, key IDs, file names and witness state are computed over the UTF-8 bytes: a witness
/// that looked a log up with `==` but kept its state by bytes cosigned a second history for a
/// look-alike origin. Every comparison of such a name goes through `sameBytes`.
extension StringProtocol {
    public func sameBytes(_ other: some StringProtocol) -> Bool { utf8.elementsEqual(other.utf8) }

    /// The UTF-8 bytes, as a dictionary or set key that compares byte for byte.
    public var identityBytes: [UInt8] { Array(utf8) }
}
