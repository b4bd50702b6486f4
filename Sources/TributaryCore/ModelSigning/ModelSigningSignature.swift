import Foundation

/// A model directory's signature in the OpenSSF model-signing format (sigstore/model-transparency,
/// PyPI `model-signing` 1.x, key mode), so that `model_signing verify key DIR --signature DIR/model.sig
/// --public_key KEY.pub` checks a release with nobody's code but theirs:
///
/// - a Sigstore bundle v0.3 (`mediaType` below) whose `verificationMaterial.publicKey.hint` is the hex
///   SHA-256 of the signer's SubjectPublicKeyInfo PEM, with no transparency-log entries;
/// - holding a DSSE envelope (payload type `application/vnd.in-toto+json`, one signature: ECDSA P-256
///   over the DSSE pre-authentication encoding, DER, base64) over an in-toto Statement v1;
/// - whose one subject is the directory's name with the SHA-256 of the per-file digests concatenated in
///   path order, and whose predicate (`https://model_signing/signature/v1.0`) lists every file
///   (`resources`: name, algorithm, digest) and how they were serialised (`files`, sha256, no symlinks,
///   the paths ignored: the signature file itself).
///
/// Verification here is what model-signing's verifier does, stricter where it can be (one signature,
/// a key hint required, only the `files` serialisation with sha256).
public enum ModelSigningSignature {
    public static let bundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    public static let payloadType = "application/vnd.in-toto+json"
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://model_signing/signature/v1.0"
    /// model-signing's default signature file name, inside the directory it signs.
    public static let fileName = "model.sig"
    /// The largest signature file read (a release's is about 2 KiB).
    static let maxBytes = 1 << 20

    /// Signs every regular file under `directory` except `fileName` and writes `directory/fileName`.
    /// `knownDigests` (relative path → hex SHA-256) spares re-hashing files the caller just wrote and
    /// hashed; every other file is hashed here.
    public static func sign(directory: String, name: String, key: P256PrivateKey, knownDigests: [String: String] = [:]) throws {
        let ignored = [fileName]
        var resources = [(name: String, digest: String)]()
        for path in try regularFiles(under: directory, ignoring: ignored) {
            let digest = try knownDigests[path] ?? Hex.encode(SHA256.digest(fileAt: directory + "/" + path).digest)
            resources.append((path, digest))
        }
        let statement = JSONValue.object([
            ("_type", .string(statementType)),
            ("subject", .array([.object([("name", .string(name)), ("digest", .object([("sha256", .string(rootDigest(resources.map(\.digest))))]))])])),
            ("predicateType", .string(predicateType)),
            ("predicate", .object([
                ("serialization", .object([("method", .string("files")), ("hash_type", .string("sha256")),
                                           ("allow_symlinks", .bool(false)), ("ignore_paths", .array(ignored.map { .string($0) }))])),
                ("resources", .array(resources.map { .object([("name", .string($0.name)), ("algorithm", .string("sha256")), ("digest", .string($0.digest))]) })),
            ])),
        ])
        let payload = JSONWriter.serialize(statement)
        let signature = try key.sign(preAuthEncoding(payloadType: payloadType, payload: payload))
        let bundle = JSONValue.object([
            ("mediaType", .string(bundleMediaType)),
            ("verificationMaterial", .object([("publicKey", .object([("hint", .string(keyHint(try key.publicKey())))])), ("tlogEntries", .array([]))])),
            ("dsseEnvelope", .object([
                ("payload", .string(Base64.encode(payload))), ("payloadType", .string(payloadType)),
                ("signatures", .array([.object([("sig", .string(Base64.encode(signature))), ("keyid", .string(""))])])),
            ])),
        ])
        try AtomicFileWriter.write(JSONWriter.serialize(bundle), to: directory + "/" + fileName)
    }

    /// What a verified signature says: the model's name, each file's digest, the paths not signed.
    public struct Verified: Equatable, Sendable {
        public let modelName: String
        public let files: [String: String]
        public let ignoredPaths: [String]

        /// The signed files are exactly `actual` (relative path → hex SHA-256): nothing changed, missing
        /// or extra.
        public func check(_ actual: [String: String]) throws {
            for path in actual.keys.sorted() where files[path] == nil {
                throw ModelSigningSignature.failure("model_signing.extra_file", "\(path) is in the model but not in the signature")
            }
            for path in files.keys.sorted() where actual[path] == nil {
                throw ModelSigningSignature.failure("model_signing.missing_file", "\(path) is signed but missing from the model")
            }
            for path in actual.keys.sorted() where actual[path] != files[path] {
                throw ModelSigningSignature.failure("model_signing.digest_mismatch", "\(path) hashes to \(actual[path]!.prefix(16))…, the signature says \(files[path]!.prefix(16))…")
            }
        }
    }

    /// Checks `signaturePath` (default `directory/model.sig`) under `key`, then that the directory holds
    /// exactly the signed files with the signed digests. Throws `model_signing.*` errors naming the
    /// first problem: a bad bundle, another key, a bad signature, or a changed, missing or extra file.
    @discardableResult
    public static func verify(directory: String, key: P256PublicKey, signaturePath: String? = nil) throws -> Verified {
        let signed = try verify(bundle: try readSmallFile(signaturePath ?? directory + "/" + fileName, limit: maxBytes), key: key)
        var actual = [String: String]()
        for path in try regularFiles(under: directory, ignoring: signed.ignoredPaths + (signaturePath == nil ? [fileName] : [])) {
            actual[path] = Hex.encode(try SHA256.digest(fileAt: directory + "/" + path).digest)
        }
        try signed.check(actual)
        return signed
    }

    /// Checks a signature file's bundle, key and signature, and reads the signed statement; what it
    /// signs is then compared with `Verified.check`.
    public static func verify(bundle bytes: [UInt8], key: P256PublicKey) throws -> Verified {
        guard bytes.count <= maxBytes else { throw failure("model_signing.bad_bundle", "the signature file is over \(maxBytes >> 20) MiB") }
        let bundle = try parseJSON(bytes, what: "the signature file")
        guard bundle["mediaType"]?.stringValue == bundleMediaType else {
            throw failure("model_signing.bad_bundle", "the signature file is not a Sigstore bundle v0.3 (mediaType \(bundle["mediaType"]?.stringValue ?? "absent"))")
        }
        guard let hint = bundle["verificationMaterial"]?["publicKey"]?["hint"]?.stringValue else {
            throw failure("model_signing.bad_bundle", "the bundle names no public key (verificationMaterial.publicKey.hint)")
        }
        guard hint == keyHint(key) else {
            throw failure("model_signing.wrong_key", "the bundle was signed with key \(hint.prefix(16))…, not the key given (\(keyHint(key).prefix(16))…)")
        }
        guard let envelope = bundle["dsseEnvelope"], envelope["payloadType"]?.stringValue == payloadType,
              let payloadText = envelope["payload"]?.stringValue, let payload = Base64.decodeLenient(payloadText),
              let signatures = envelope["signatures"]?.arrayValue, signatures.count == 1,
              let sigText = signatures[0]["sig"]?.stringValue, let signature = Base64.decodeLenient(sigText) else {
            throw failure("model_signing.bad_bundle", "the bundle holds no DSSE envelope of an in-toto statement with exactly one signature")
        }
        guard key.verify(signature: signature, message: preAuthEncoding(payloadType: payloadType, payload: payload)) else {
            throw failure("model_signing.bad_signature", "the signature does not verify under the key given")
        }
        return try statement(try parseJSON(payload, what: "the signed statement"))
    }

    /// `hex(SHA-256(PEM))` of the public key: the bundle's key hint.
    public static func keyHint(_ key: P256PublicKey) -> String { Hex.encode(SHA256.digest(key.pem)) }

    /// The subject's digest: SHA-256 over the raw per-file digests, concatenated in path order.
    static func rootDigest(_ digests: [String]) -> String {
        let hasher = SHA256Hasher()
        for d in digests { hasher.update(Hex.decode(d) ?? []) }
        return Hex.encode(hasher.finalize())
    }

    private static func statement(_ s: JSONValue) throws -> Verified {
        guard s["_type"]?.stringValue == statementType else { throw failure("model_signing.bad_statement", "the payload is not an in-toto Statement v1") }
        guard s["predicateType"]?.stringValue == predicateType else {
            throw failure("model_signing.bad_statement", "predicate type \(s["predicateType"]?.stringValue ?? "absent"), expected \(predicateType)")
        }
        guard let subjects = s["subject"]?.arrayValue, subjects.count == 1, let name = subjects[0]["name"]?.stringValue,
              let root = subjects[0]["digest"]?["sha256"]?.stringValue else {
            throw failure("model_signing.bad_statement", "the statement must have exactly one subject with a name and a sha256 digest")
        }
        guard let serialization = s["predicate"]?["serialization"], serialization["method"]?.stringValue == "files",
              serialization["hash_type"]?.stringValue == "sha256", serialization["allow_symlinks"] == .bool(false) else {
            throw failure("model_signing.unsupported", "only the `files` serialisation with sha256 and no symlinks is verified here")
        }
        let ignored = try (serialization["ignore_paths"]?.arrayValue ?? []).map { v -> String in
            guard let p = v.stringValue else { throw failure("model_signing.bad_statement", "ignore_paths holds a non-string") }
            return p
        }
        guard let resources = s["predicate"]?["resources"]?.arrayValue else { throw failure("model_signing.bad_statement", "the predicate lists no resources") }
        var files = [String: String](), order = [String]()
        for r in resources {
            guard let path = r["name"]?.stringValue, r["algorithm"]?.stringValue == "sha256",
                  let digest = r["digest"]?.stringValue, Hex.isLowerHex(digest, byteCount: 32) else {
                throw failure("model_signing.bad_statement", "a resource is not {name, algorithm sha256, digest of 64 hex digits}")
            }
            guard files.updateValue(digest, forKey: path) == nil else { throw failure("model_signing.bad_statement", "\(path) is listed twice") }
            order.append(path)
        }
        guard rootDigest(order.map { files[$0]! }) == root else {
            throw failure("model_signing.bad_statement", "the subject's digest is not the digest of the listed files")
        }
        return Verified(modelName: name, files: files, ignoredPaths: ignored)
    }

    /// Relative paths of the regular files under `directory`, sorted as model-signing sorts them (path
    /// components compared in turn), minus the ignored paths and everything under them. A symbolic link
    /// or any other kind of file is an error: the signature covers regular files only.
    static func regularFiles(under directory: String, ignoring ignored: [String]) throws -> [String] {
        var found = [[String]]()
        func walk(_ relative: [String]) throws {
            let path = ([directory] + relative).joined(separator: "/")
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw failure("model_signing.unreadable", "cannot list \(path): \(error.localizedDescription)")
            }
            for name in names {
                let rel = relative + [name]
                let joined = rel.joined(separator: "/")
                if ignored.contains(where: { joined == $0 || joined.hasPrefix($0 + "/") }) { continue }
                var st = stat()
                guard lstat(path + "/" + name, &st) == 0 else { throw failure("model_signing.unreadable", "cannot stat \(joined)") }
                switch st.st_mode & S_IFMT {
                case S_IFREG: found.append(rel)
                case S_IFDIR: try walk(rel)
                default: throw failure("model_signing.not_regular", "\(joined) is not a regular file (symbolic links are not signed)")
                }
            }
        }
        try walk([])
        return found.sorted { $0.lexicographicallyPrecedes($1) }.map { $0.joined(separator: "/") }
    }

    private static func parseJSON(_ bytes: [UInt8], what: String) throws -> JSONValue {
        do { return try StrictJSONParser.parse(bytes) } catch {
            throw failure("model_signing.bad_bundle", "\(what) is not JSON: \(error.description)")
        }
    }

    static func failure(_ code: String, _ message: String) -> TributaryError { TributaryError(code, message) }
}
