/// DSSE pre-authentication encoding (secure-systems-lab/dsse `protocol.md`):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN in decimal bytes, no leading zeros.
/// The signature covers these bytes, so neither type nor body can be swapped or reframed.
public func preAuthEncoding<C: Collection>(payloadType: String, payload: C) -> [UInt8] where C.Element == UInt8 {
    let type = Array(payloadType.utf8)
    var out = Array("DSSEv1 \(type.count) ".utf8)
    out.append(contentsOf: type)
    out.append(contentsOf: Array(" \(payload.count) ".utf8))
    out.append(contentsOf: payload)
    return out
}
