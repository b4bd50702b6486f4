/// An in-toto Statement v1 (`https://in-toto.io/Statement/v1`): subjects with SHA-256 digests, a
/// predicate type URI, and a predicate whose schema the predicate type names.
public struct InTotoStatement: Equatable, Sendable {
    public static let type = "https://in-toto.io/Statement/v1"

    public struct Subject: Equatable, Sendable {
        public let name: String
        /// Lower-case hex SHA-256.
        public let sha256: String
        public init(name: String, sha256: String) {
            self.name = name
            self.sha256 = sha256
        }
    }

    public let subjects: [Subject]
    public let predicateType: String
    public let predicate: JSONValue

    public init(subjects: [Subject], predicateType: String, predicate: JSONValue) {
        self.subjects = subjects
        self.predicateType = predicateType
        self.predicate = predicate
    }

    /// Canonical JSON (sorted keys, compact), the exact bytes that get signed.
    public func serialized() -> [UInt8] {
        JSONWriter.serialize(.object([
            ("_type", .string(Self.type)),
            ("subject", .array(subjects.map {
                .object([("name", .string($0.name)), ("digest", .object([("sha256", .string($0.sha256))]))])
            })),
            ("predicateType", .string(predicateType)),
            ("predicate", predicate),
        ]))
    }

    public static func parse(_ bytes: [UInt8]) throws(StatementError) -> InTotoStatement {
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes, maxDepth: 16) } catch { throw .malformed(error.description) }
        do {
            var r = try JSONObjectReader(json, path: "statement")
            let type = try r.string("_type")
            guard type == Self.type else { throw StatementError.wrongType(type) }
            let subjectValues = try r.array("subject")
            let predicateType = try r.string("predicateType")
            let predicate = try r.value("predicate")
            try r.finish()
            var subjects = [Subject]()
            for (i, v) in subjectValues.enumerated() {
                var s = try JSONObjectReader(v, path: "statement.subject[\(i)]")
                let name = try s.string("name")
                var d = try s.object("digest")
                let sha = try d.string("sha256")
                try d.finish()
                try s.finish()
                guard Hex.isLowerHex(sha, byteCount: 32) else {
                    throw JSONSchemaError(path: "statement.subject[\(i)].digest.sha256", problem: "must be 64 lower-case hex digits")
                }
                subjects.append(Subject(name: name, sha256: sha))
            }
            return InTotoStatement(subjects: subjects, predicateType: predicateType, predicate: predicate)
        } catch let e as JSONSchemaError {
            throw .schema(e.description)
        } catch let e as StatementError {
            throw e
        } catch {
            throw .malformed("\(error)")
        }
    }
}

public enum StatementError: CodedError, Equatable {
    case malformed(String)
    case wrongType(String)
    case unsupportedPredicate(String)
    case schema(String)

    public var code: String {
        switch self {
        case .malformed: return "statement.malformed"
        case .wrongType: return "statement.wrong_type"
        case .unsupportedPredicate: return "statement.unsupported_predicate"
        case .schema: return "statement.schema"
        }
    }

    public var message: String {
        switch self {
        case let .malformed(why): return "statement is not valid JSON: \(why)"
        case let .wrongType(t): return "statement _type is \"\(t)\", expected \"\(InTotoStatement.type)\""
        case let .unsupportedPredicate(t): return "predicate type \"\(t)\" is not one this verifier supports (\(ContributionPredicate.type))"
        case let .schema(why): return "statement does not match the schema: \(why)"
        }
    }
}
