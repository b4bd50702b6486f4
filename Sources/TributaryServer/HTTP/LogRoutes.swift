import Hummingbird
import TributaryHTTP
import TributaryCore
import TributaryLog
import TributaryAPI

/// The transparency log: checkpoint, entries, inclusion and consistency proofs (C2SP / RFC 9162).
struct LogRoutes {
    let server: AggregationServer
    static let maxEntriesPerPage: UInt64 = 1000

    func register(on router: Router<ServiceRequestContext>) {
        router.get(RouterPath(APIPath.checkpoint)) { _, _ -> Response in
            guard let cp = try await server.store.publishedCheckpoint() else {
                throw ServerError.unavailable(server.config.witnesses.isEmpty ? "the log is empty" : "no checkpoint has met the witness policy yet")
            }
            // tlog-tiles: the one mutable resource; caches may keep it a few seconds at most.
            var response = JSONResponse.text(cp.note)
            response.headers[.cacheControl] = "no-cache"
            return response
        }
        router.get(RouterPath(APIPath.logKey)) { _, _ -> Response in
            JSONResponse.make(LogKeyAnswer(origin: server.logKey.name, verifierKey: server.logVerifierKey).json)
        }
        router.get(RouterPath(APIPath.logEntries)) { request, _ -> Response in
            let size = await server.store.logSize
            let start = try request.integer("start", max: size)
            let end = try request.integer("end", max: size)
            guard start <= end, end - start <= Self.maxEntriesPerPage else {
                throw ServerError.badRequest("need start ≤ end ≤ log size \(size), at most \(Self.maxEntriesPerPage) entries")
            }
            let entries = try await server.store.entries(start: start, end: end)
            return JSONResponse.make(LogEntriesAnswer(start: start, entries: entries).json)
        }
        router.get(RouterPath(APIPath.inclusionProof)) { request, _ -> Response in
            let logSize = await server.store.logSize
            let size = try request.integer("size", max: logSize)
            let index = try request.integer("index", max: logSize)
            guard index < size else { throw MerkleTreeError.badRange("index \(index) is not below size \(size)") }
            let proof = try await server.store.inclusionProof(index: index, size: size)
            let leaf = try await server.store.entries(start: index, end: index + 1).first.map { MerkleHash.leaf($0) } ?? []
            return JSONResponse.make(InclusionProofAnswer(index: index, size: size, leafHash: leaf, proof: proof).json)
        }
        router.get(RouterPath(APIPath.consistencyProof)) { request, _ -> Response in
            let logSize = await server.store.logSize
            let first = try request.integer("first", max: logSize)
            let second = try request.integer("second", max: logSize)
            guard first <= second else { throw MerkleTreeError.badRange("first \(first) is above second \(second)") }
            let proof = try await server.store.consistencyProof(first: first, second: second)
            return JSONResponse.make(ConsistencyProofAnswer(first: first, second: second, proof: proof).json)
        }
    }
}
