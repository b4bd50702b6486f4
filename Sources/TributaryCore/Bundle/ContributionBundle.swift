import Foundation

/// A contribution bundle that passed every check of `ContributionBundle.verify`.
public struct VerifiedContribution: Sendable {
    public let directory: String
    public let signer: VerifierKey
    public let envelope: DSSEEnvelope
    /// The exact signed statement bytes (== statement.json == envelope payload).
    public let statementBytes: [UInt8]
    public let statement: InTotoStatement
    public let predicate: ContributionPredicate
    /// Lower-case hex SHA-256 of each subject file, recomputed from disk.
    public let digests: [String: String]
}

/// Signing and verifying contribution bundles (protocol/SPEC.md §3–§5).
public enum ContributionBundle {
    public static let maxSmallFileSize = 1 << 20

    // MARK: Structure

    /// Lists the directory without following links and checks that it holds exactly the bundle files
    /// (or, with `allowUnsigned`, the two safetensors files plus optionally stale statement/envelope).
    public static func checkEntries(directory: String, allowUnsigned: Bool = false) throws -> Set<String> {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw BundleError.notADirectory(directory)
        }
        guard let dir = opendir(directory) else { throw FileSystemError.posix("opendir", directory, errno) }
        defer { closedir(dir) }
        var found = Set<String>()
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        for name in names.sorted() {
            guard BundleLayout.isAcceptableName(name) else { throw BundleError.badName(name) }
            var st = stat()
            guard lstat(directory + "/" + name, &st) == 0 else { throw FileSystemError.posix("lstat", name, errno) }
            if (st.st_mode & S_IFMT) == S_IFLNK { throw BundleError.symlink(name) }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw BundleError.notRegularFile(name) }
            guard BundleLayout.allFiles.contains(name) else { throw BundleError.extraFile(name) }
            found.insert(name)
        }
        let required = allowUnsigned ? Set(BundleLayout.subjectFiles) : BundleLayout.allFiles
        for name in required.sorted() where !found.contains(name) { throw BundleError.missingFile(name) }
        return found
    }

    // MARK: Signing

    /// Builds statement.json from the two safetensors files and their metadata, signs it, and writes
    /// statement.json and envelope.json. Nothing is written if any check fails.
    @discardableResult
    public static func sign(directory: String, key: SigningKey, origin: String, createdAt: String = Timestamp.nowRFC3339(),
                            nonce: [UInt8] = secureRandomBytes(32)) throws -> VerifiedContribution {
        guard LogOrigin.isValid(origin) else {
            throw TributaryError("bundle.bad_origin", "\(origin.debugDescription) is not a log origin (1 to 255 printable ASCII characters, no spaces)")
        }
        _ = try checkEntries(directory: directory, allowUnsigned: true)
        let expertPath = directory + "/" + BundleLayout.expertFile
        let routingPath = directory + "/" + BundleLayout.routingFile
        let expert = try SafetensorsFile(path: expertPath)
        let routing = try SafetensorsFile(path: routingPath)
        let layout = try BundleLayout.expertLayout(of: expert.header)

        func meta(_ file: SafetensorsFile, _ name: String, _ key: String) throws -> String {
            guard let v = file.metadata[key] else { throw BundleError.metadata(file: name, problem: "missing \(key)") }
            return v
        }
        func metaJSON(_ file: SafetensorsFile, _ name: String, _ key: String) throws -> JSONValue {
            do { return try StrictJSONParser.parse(Array(try meta(file, name, key).utf8)) } catch let e as StrictJSONParser.Failure {
                throw BundleError.metadata(file: name, problem: "\(key) is not JSON: \(e)")
            }
        }
        let anchor = try meta(expert, BundleLayout.expertFile, BundleLayout.anchorMetadataKey)
        guard Hex.isLowerHex(anchor, byteCount: 32) else {
            throw BundleError.metadata(file: BundleLayout.expertFile, problem: "\(BundleLayout.anchorMetadataKey) is not a SHA-256 hex digest")
        }
        let training: TrainingSummary
        let routingParams: RoutingParameters
        do {
            training = try TrainingSummary(json: try metaJSON(expert, BundleLayout.expertFile, BundleLayout.trainingMetadataKey),
                                           path: BundleLayout.trainingMetadataKey)
            routingParams = try RoutingParameters(json: try metaJSON(routing, BundleLayout.routingFile, BundleLayout.routingMetadataKey),
                                                  path: BundleLayout.routingMetadataKey)
        } catch let e as JSONSchemaError {
            throw BundleError.metadata(file: "bundle", problem: e.description)
        }
        try BundleLayout.checkRouting(routing.header, declared: routingParams, expert: layout)
        guard nonce.count == 32 else { throw TributaryError("bundle.nonce", "nonce must be 32 bytes") }

        let predicate = ContributionPredicate(
            origin: origin, organisation: key.name, keyID: Hex.encode(key.keyID), anchorSHA256: anchor, expert: layout,
            routing: routingParams, training: training, createdAt: createdAt, nonce: Hex.encode(nonce))
        var subjects = [InTotoStatement.Subject]()
        for name in BundleLayout.subjectFiles {
            subjects.append(.init(name: name, sha256: Hex.encode(try SHA256.digest(fileAt: directory + "/" + name).digest)))
        }
        let statement = InTotoStatement(subjects: subjects, predicateType: ContributionPredicate.type(for: routingParams), predicate: predicate.json)
        let payload = statement.serialized()
        let envelope = DSSEEnvelope.sign(payload: payload, payloadType: DSSEEnvelope.inTotoPayloadType, key: key)

        try AtomicFileWriter.write(payload, to: directory + "/" + BundleLayout.statementFile)
        try AtomicFileWriter.write(envelope.serialized(), to: directory + "/" + BundleLayout.envelopeFile)
        return try verify(directory: directory, keys: [key.verifierKey])
    }

    // MARK: Verification

    /// Verifies a bundle against the given trusted keys, in the order protocol/SPEC.md §5 fixes:
    /// file set; envelope parse; signature over PAE of the received payload bytes; payload type;
    /// statement.json == payload; statement schema; signer == predicate's organisation and key ID;
    /// subjects; streamed SHA-256 of every subject file; safetensors validity and layout.
    public static func verify(directory: String, keys: [VerifierKey]) throws -> VerifiedContribution {
        _ = try checkEntries(directory: directory)
        let envelopeBytes = try readSmallFile(directory + "/" + BundleLayout.envelopeFile, limit: DSSEEnvelope.maxEncodedSize)
        let envelope = try DSSEEnvelope.parse(envelopeBytes)
        let signer = try verifySignature(envelope, keys: keys)
        let statementBytes = try readSmallFile(directory + "/" + BundleLayout.statementFile, limit: maxSmallFileSize)
        guard statementBytes == envelope.payload else { throw BundleError.statementMismatch }
        let (statement, predicate) = try parseStatement(envelope.payload, signer: signer)

        var digests = [String: String]()
        for subject in statement.subjects {
            let actual = Hex.encode(try SHA256.digest(fileAt: directory + "/" + subject.name).digest)
            guard actual == subject.sha256 else {
                throw BundleError.digestMismatch(file: subject.name, expected: subject.sha256, actual: actual)
            }
            digests[subject.name] = actual
        }
        let expert = try SafetensorsFile(path: directory + "/" + BundleLayout.expertFile)
        let layout = try BundleLayout.expertLayout(of: expert.header)
        guard layout == predicate.expert else {
            throw BundleError.expertLayout("tensors differ from the layout the statement declares")
        }
        let routing = try SafetensorsFile(path: directory + "/" + BundleLayout.routingFile)
        try BundleLayout.checkRouting(routing.header, declared: predicate.routing, expert: layout)
        return VerifiedContribution(directory: directory, signer: signer, envelope: envelope, statementBytes: statementBytes,
                                    statement: statement, predicate: predicate, digests: digests)
    }

    /// The first trusted key under which some envelope signature verifies, then the payload type check.
    public static func verifySignature(_ envelope: DSSEEnvelope, keys: [VerifierKey]) throws(BundleError) -> VerifierKey {
        guard !keys.isEmpty else { throw .signatureInvalid("no trusted key was given") }
        guard let key = keys.first(where: { envelope.isSigned(by: $0) }) else {
            let names = keys.map(\.name).joined(separator: ", ")
            throw .signatureInvalid("none of \(envelope.signatures.count) signature(s) verifies under the key(s) of \(names)")
        }
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else { throw .wrongPayloadType(envelope.payloadType) }
        return key
    }

    /// Parses a signed statement and checks it belongs to `signer` and names exactly the subject files.
    public static func parseStatement(_ payload: [UInt8], signer: VerifierKey) throws -> (InTotoStatement, ContributionPredicate) {
        let statement = try InTotoStatement.parse(payload)
        guard ContributionPredicate.types.contains(statement.predicateType) else {
            throw StatementError.unsupportedPredicate(statement.predicateType)
        }
        let predicate: ContributionPredicate
        do { predicate = try ContributionPredicate(json: statement.predicate, type: statement.predicateType) } catch {
            throw StatementError.schema(error.description)
        }
        guard predicate.organisation.sameBytes(signer.name) else {
            throw BundleError.keyMismatch("organisation \"\(predicate.organisation)\" but signed by \"\(signer.name)\"")
        }
        guard predicate.keyID == signer.keyIDHex else {
            throw BundleError.keyMismatch("key ID \(predicate.keyID) but signed by \(signer.keyIDHex)")
        }
        for s in statement.subjects where !BundleLayout.isAcceptableName(s.name) { throw BundleError.badName(s.name) }
        guard statement.subjects.map(\.name) == BundleLayout.subjectFiles else {
            throw BundleError.wrongSubjects("found \(statement.subjects.map(\.name)), expected \(BundleLayout.subjectFiles)")
        }
        return (statement, predicate)
    }
}
