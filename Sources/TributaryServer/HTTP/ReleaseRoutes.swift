import Foundation
import Hummingbird
import TributaryHTTP
import TributaryContribution
import TributaryCore
import TributaryLog
import TributaryAPI
import TributaryModel
import TributaryRouting

/// Releases, their files, contributed blobs and the anchor: everything an auditor downloads.
struct ReleaseRoutes {
    let server: AggregationServer
    static let releaseFiles = Set(ReleaseLayout.allFiles)
    static let anchorFiles = Set(AnchorLayout.publishedFiles)

    func register(on router: Router<ServiceRequestContext>) {
        let files = FileIO()
        router.post(RouterPath(APIPath.releases)) { request, context -> Response in
            guard let r = try await server.publishRelease(request: try await RequestBody.bytes(request, context, deadline: server.config.bodyDeadlineSeconds)) else {
                throw ServerError.conflict("nothing to release")
            }
            guard let record = try await server.store.release(r.manifest.release) else { throw ServerError.notFound("release \(r.manifest.release) is not logged") }
            return JSONResponse.make(Self.answer(r.manifest, record, pruned: nil).json, status: .created)
        }
        router.get(RouterPath(APIPath.latestRelease)) { _, _ -> Response in
            guard let n = try await server.store.latestRelease()?.number else { throw ServerError.notFound("no release yet") }
            return JSONResponse.make(try await answer(n).json)
        }
        router.get(RouterPath(APIPath.release)) { _, context -> Response in
            JSONResponse.make(try await answer(try PathNumber.release(context, "number")).json)
        }
        router.get(RouterPath(APIPath.releaseFile)) { _, context -> Response in
            let n = try PathNumber.release(context, "number")
            let name = try context.parameters.require("name")
            guard Self.releaseFiles.contains(name), try await server.store.release(n) != nil else {
                throw ServerError.notFound("no file \(name) in release \(n)")
            }
            let path = server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(n) + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                if ReleaseLayout.prunedFiles.contains(name), await server.releases.isPruned(n) { throw ServerError.gone("\(name) of release \(n) was pruned: " + Self.rebuildHint(n)) }
                throw ServerError.notFound("release \(n) has no \(name)")
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: try await files.loadFile(path: path, context: context))
        }
        router.get(RouterPath(APIPath.blob)) { _, context -> Response in
            let sha = try context.parameters.require("sha256")
            guard Hex.isLowerHex(sha, byteCount: 32), server.blobs.contains(sha) else { throw ServerError.notFound("no blob \(sha)") }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                            body: try await files.loadFile(path: server.blobs.path(sha), context: context))
        }
        router.get(RouterPath(APIPath.anchorFile)) { _, context -> Response in
            let name = try context.parameters.require("name")
            let path = server.anchor.path + "/" + name
            guard Self.anchorFiles.contains(name), FileManager.default.fileExists(atPath: path) else {
                throw ServerError.notFound("the anchor has no file \(name)")
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                            body: try await files.loadFile(path: path, context: context))
        }
    }

    func answer(_ n: Int) async throws -> ReleaseAnswer {
        guard let record = try await server.store.release(n) else { throw ServerError.notFound("no release \(n)") }
        let path = server.config.releaseDirectory + "/" + ReleaseBuilder.directoryName(n) + "/" + ReleaseLayout.manifestFile
        return Self.answer(try ReleaseManifest.verify(try readSmallFile(path, limit: 1 << 20), key: server.logVerifierKey), record,
                           pruned: await server.releases.isPruned(n))
    }

    /// How anyone gets a pruned release back: the logged bundles and the anchor stay, and the release's
    /// files are a deterministic function of them (`ReleaseFiles`).
    static func rebuildHint(_ n: Int) -> String {
        "the server keeps the files of its newest releases and every release's signed manifest; `tributary fetch-release --server URL --log-key KEY --number \(n) --out DIR` rebuilds this one bit for bit from the logged bundles and the anchor and checks it against the manifest's digests"
    }

    static func answer(_ m: ReleaseManifest, _ record: ReleaseRecord, pruned: Bool?) -> ReleaseAnswer {
        ReleaseAnswer(manifest: m, logIndex: record.logIndex, manifestSHA256: record.manifestSHA256, pruned: pruned,
                      rebuild: pruned == true ? rebuildHint(m.release) : nil)
    }
}
