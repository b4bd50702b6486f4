import Foundation
import TributaryCore

/// What a release contains, signed by the log key as a DSSE envelope (payload type
/// `application/vnd.tributary.release+json`) and logged. Expert 0 is always the anchor's FFN; experts
/// 1... are the accepted, unrevoked contributions as of `logSize`, in log order.
public struct ReleaseManifest: Equatable, Sendable {
    public static let payloadType = "application/vnd.tributary.release+json"

    public struct Expert: Equatable, Sendable {
        public let organisation: String
        /// Log index of the contribution entry.
        public let contribution: UInt64
        public let statementSHA256: String
        public let expertSHA256: String
        public let routingSHA256: String

        public init(organisation: String, contribution: UInt64, statementSHA256: String, expertSHA256: String, routingSHA256: String) {
            self.organisation = organisation
            self.contribution = contribution
            self.statementSHA256 = statementSHA256
            self.expertSHA256 = expertSHA256
            self.routingSHA256 = routingSHA256
        }
    }

    public let release: Int
    public let createdAt: String
    /// Log size the release reflects (every entry before this index was considered).
    public let logSize: UInt64
    public let anchorSHA256: String
    public let expertsPerToken: Int
    public let experts: [Expert]
    /// SHA-256 of every file of the release directory except the manifest itself.
    public let files: [String: String]
    /// How the contributed router rows were tuned (§11.12), with the token ids it ran on in
    /// `ReleaseLayout.routerTuningFile`; nil: the rows are the owners' own.
    public let routerTuning: RouterTuningRecipe?

    public init(release: Int, createdAt: String, logSize: UInt64, anchorSHA256: String, expertsPerToken: Int,
                experts: [Expert], files: [String: String], routerTuning: RouterTuningRecipe? = nil) {
        self.release = release
        self.createdAt = createdAt
        self.logSize = logSize
        self.anchorSHA256 = anchorSHA256
        self.expertsPerToken = expertsPerToken
        self.experts = experts
        self.files = files
        self.routerTuning = routerTuning
    }

    public var json: JSONValue {
        .object([
            ("release", .int(release)), ("createdAt", .string(createdAt)), ("logSize", .uint64(logSize)),
            ("anchor", .object([("sha256", .string(anchorSHA256))])), ("expertsPerToken", .int(expertsPerToken)),
            ("experts", .array([.object([("expert", .int(0)), ("source", .string("anchor"))])] + experts.enumerated().map { i, e in
                .object([("expert", .int(i + 1)), ("source", .string("contribution")), ("organisation", .string(e.organisation)),
                         ("contribution", .uint64(e.contribution)), ("statementSHA256", .string(e.statementSHA256)),
                         ("expertSHA256", .string(e.expertSHA256)), ("routingSHA256", .string(e.routingSHA256))])
            })),
            ("files", .object(files.keys.sorted().map { ($0, .string(files[$0]!)) })),
        ] + (routerTuning.map { [("routerTuning", $0.json)] } ?? []))
    }

    public func signed(by key: SigningKey) -> [UInt8] {
        DSSEEnvelope.sign(payload: JSONWriter.serialize(json), payloadType: Self.payloadType, key: key).serialized()
    }

    /// Verifies the envelope under the log key and parses the manifest.
    public static func verify(_ envelopeBytes: [UInt8], key: VerifierKey) throws -> ReleaseManifest {
        let env = try DSSEEnvelope.parse(envelopeBytes)
        guard env.isSigned(by: key) else { throw LogError.badEntry("release manifest signature does not verify under the log key") }
        guard env.payloadType == payloadType else { throw LogError.badEntry("release manifest has payload type \(env.payloadType)") }
        return try parse(env.payload)
    }

    public static func parse(_ payload: [UInt8]) throws -> ReleaseManifest {
        let json: JSONValue
        do { json = try StrictJSONParser.parse(payload) } catch let e as StrictJSONParser.Failure { throw LogError.badEntry(e.description) }
        return try parse(json: json)
    }

    /// The manifest's fields, exactly (`json` written back gives the same value).
    public static func parse(json: JSONValue) throws -> ReleaseManifest {
        do {
            var r = try JSONObjectReader(json, path: "manifest")
            let release = try r.int("release")
            let createdAt = try r.string("createdAt")
            guard case let .number(t) = try r.value("logSize"), let logSize = UInt64(t) else { throw LogError.badEntry("logSize") }
            var a = try r.object("anchor")
            let anchor = try a.string("sha256")
            try a.finish()
            let k = try r.int("expertsPerToken", in: 1...1024)
            var experts = [Expert]()
            for (i, v) in try r.array("experts").enumerated() {
                var e = try JSONObjectReader(v, path: "manifest.experts[\(i)]")
                guard try e.int("expert") == i else { throw LogError.badEntry("experts out of order") }
                let source = try e.string("source")
                if i == 0 {
                    guard source == "anchor" else { throw LogError.badEntry("expert 0 must be the anchor") }
                } else {
                    guard source == "contribution", case let .number(ct) = try e.value("contribution"), let c = UInt64(ct) else {
                        throw LogError.badEntry("expert \(i) must be a contribution")
                    }
                    experts.append(Expert(organisation: try e.string("organisation"), contribution: c,
                                          statementSHA256: try e.string("statementSHA256"), expertSHA256: try e.string("expertSHA256"),
                                          routingSHA256: try e.string("routingSHA256")))
                }
                try e.finish()
            }
            var f = try r.object("files")
            var files = [String: String]()
            if case let .object(members) = json["files"] ?? .null {
                for (name, _) in members { files[name] = try f.string(name) }
            }
            try f.finish()
            var tuning: RouterTuningRecipe?
            if let v = r.optionalValue("routerTuning") { tuning = try RouterTuningRecipe(json: v, path: "manifest.routerTuning") }
            try r.finish()
            // A tuned release logs what its tuning ran on; an untuned one has no such file.
            guard (tuning != nil) == (files[ReleaseLayout.routerTuningFile] != nil) else {
                throw LogError.badEntry("the manifest \(tuning == nil ? "names \(ReleaseLayout.routerTuningFile) without a routerTuning recipe" : "has a routerTuning recipe without \(ReleaseLayout.routerTuningFile)")")
            }
            for name in files.keys where !ReleaseLayout.digestedFiles.contains(name) {
                throw LogError.badEntry("the manifest names a file \(name.debugDescription) no release has")
            }
            for name in ReleaseLayout.requiredFiles where files[name] == nil {
                throw LogError.badEntry("the manifest gives no digest of \(name)")
            }
            // Digests name files the auditor fetches: exactly 64 lower-case hex digits each, so no
            // manifest can name a path or nothing at all.
            for (what, sha) in [("anchor digest", anchor)] + files.map({ ("files.\($0.key)", $0.value) })
                + experts.flatMap({ [("statementSHA256", $0.statementSHA256), ("expertSHA256", $0.expertSHA256), ("routingSHA256", $0.routingSHA256)] })
            where !Hex.isLowerHex(sha, byteCount: 32) {
                throw LogError.badEntry("the manifest's \(what) \(sha.debugDescription.prefix(80)) is not a SHA-256 digest (64 lower-case hex digits)")
            }
            for e in experts where !OrganisationName.isCanonical(e.organisation) {
                throw LogError.badEntry("the manifest names an organisation that is not canonical: \(e.organisation.debugDescription.prefix(80))")
            }
            return ReleaseManifest(release: release, createdAt: createdAt, logSize: logSize, anchorSHA256: anchor,
                                   expertsPerToken: k, experts: experts, files: files, routerTuning: tuning)
        } catch let e as JSONSchemaError {
            throw LogError.badEntry(e.description)
        }
    }
}
