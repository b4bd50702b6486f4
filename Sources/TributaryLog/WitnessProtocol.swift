import TributaryCore

/// The body of C2SP tlog-witness `POST /add-checkpoint`:
///     old <size>\n
///     <base64 consistency-proof hash>\n   (0 to 63 lines; none when old is 0)
///     \n
///     <signed checkpoint note>
public struct AddCheckpointRequest: Equatable, Sendable {
    public static let maxProofLines = 63
    public static let maxBodySize = 64 * 1024

    public let oldSize: UInt64
    public let proof: [[UInt8]]
    /// The signed note as sent: the checkpoint text, a blank line, its signature lines.
    public let checkpoint: [UInt8]

    public init(oldSize: UInt64, proof: [[UInt8]], checkpoint: [UInt8]) {
        self.oldSize = oldSize
        self.proof = proof
        self.checkpoint = checkpoint
    }

    public var body: [UInt8] {
        Array(("old \(oldSize)\n" + proof.map { Base64.encode($0) + "\n" }.joined() + "\n").utf8) + checkpoint
    }

    public static func parse(_ body: [UInt8]) throws(WitnessError) -> AddCheckpointRequest {
        guard body.count <= maxBodySize else { throw .badRequest("the body is larger than \(maxBodySize) bytes") }
        var i = 0
        func line() throws(WitnessError) -> String {
            guard let end = body[i...].firstIndex(of: 0x0a) else { throw .badRequest("a line does not end in a newline") }
            defer { i = end + 1 }
            guard let s = String(validating: body[i..<end], as: UTF8.self) else { throw .badRequest("a line is not UTF-8") }
            return s
        }
        let first = try line()
        guard first.hasPrefix("old "), let old = Checkpoint.canonicalSize(first.dropFirst(4)) else {
            throw .badRequest("the first line must be \"old <size>\" in decimal without leading zeroes")
        }
        var proof = [[UInt8]]()
        while true {
            let l = try line()
            if l.isEmpty { break }
            guard proof.count < maxProofLines else { throw .badRequest("more than \(maxProofLines) consistency proof lines") }
            guard let h = Base64.decodeStandard(l), h.count == MerkleHash.size else { throw .badRequest("a proof line is not a base64 SHA-256 hash") }
            proof.append(h)
        }
        return AddCheckpointRequest(oldSize: old, proof: proof, checkpoint: Array(body[i...]))
    }

    /// The cosignature lines of a 200 response: one or more `— name base64` lines.
    public static func parseCosignatures(_ body: [UInt8]) throws(WitnessError) -> [SignedNote.Signature] {
        // A response is a signature block: parse it as one under a placeholder text.
        guard !body.isEmpty, body.count <= 16 * 1024 else { throw .badResponse("cosignature response of \(body.count) bytes") }
        do { return try SignedNote.parse(Array("x\n\n".utf8) + body).signatures } catch {
            throw .badResponse("cosignature response: \(error.message)")
        }
    }
}

/// Why a witness refused a checkpoint, with the status tlog-witness gives each case.
public enum WitnessError: CodedError, Equatable {
    case badRequest(String)          // 400
    case forbidden(String)           // 403: no trusted log signature
    case unknownLog(String)          // 404
    case conflict(size: UInt64, String)  // 409: the old size is not the witness's, or same size with another root
    case badProof(String)            // 422
    case badResponse(String)         // (client) what a witness answered does not parse
    case stateLost(String)           // the witness's state directory is gone or not its own

    public var code: String {
        switch self {
        case .badRequest: return "witness.bad_request"
        case .forbidden: return "witness.forbidden"
        case .unknownLog: return "witness.unknown_log"
        case .conflict: return "witness.conflict"
        case .badProof: return "witness.bad_proof"
        case .badResponse: return "witness.bad_response"
        case .stateLost: return "witness.state_lost"
        }
    }

    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .forbidden: return 403
        case .unknownLog: return 404
        case .conflict: return 409
        case .badProof: return 422
        case .badResponse, .stateLost: return 500
        }
    }

    public var message: String {
        switch self {
        case let .badRequest(m), let .forbidden(m), let .unknownLog(m), let .badProof(m), let .badResponse(m), let .stateLost(m): return m
        case let .conflict(size, m): return "\(m) (the witness holds size \(size))"
        }
    }
}
