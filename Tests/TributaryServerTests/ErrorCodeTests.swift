import Foundation
import Hummingbird
import Testing
import TributaryCore
@testable import TributaryServer

/// protocol/SPEC.md §8 lists exactly the error codes the sources can produce, each with the HTTP
/// status the server gives it: a code in the sources missing from the table, a code in the table
/// produced nowhere, or a status that differs from `ErrorStatus` fails here.
@Suite struct ErrorCodeTests {
    static let root: URL = {
        var r = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { r.deleteLastPathComponent() }
        return r
    }()

    /// Code → "413" or "—", from the §8 table's rows `| `code` | status | meaning |`.
    static func specified() throws -> [String: String] {
        let text = try String(contentsOf: root.appendingPathComponent("protocol/SPEC.md"), encoding: .utf8)
        let section = text.components(separatedBy: "## 8. Error codes")[1].components(separatedBy: "\n## 9.")[0]
        var out = [String: String]()
        for line in section.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, cells[0].hasPrefix("`"), cells[0].hasSuffix("`") else { continue }
            out[String(cells[0].dropFirst().dropLast())] = cells[1]
        }
        return out
    }

    /// Every string literal `"family.name"` in Sources that is not a file name, a metadata key or a
    /// JSON path or tensor name: the codes errors and audit findings carry.
    static func produced() throws -> Set<String> {
        let literal = try Regex(#""([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)""#)
        let fileSuffixes: Set<String> = ["weight", "json", "safetensors", "pae", "svg", "png", "h", "pub", "private", "key", "sqlite", "gguf", "sig"]
        // GGUF metadata keys and tensor names that look like codes.
        let notCodes: Set<String> = ["tributary", "adamw", "predicate", "general", "attention", "rope", "llama"]
        let notCodeLiterals: Set<String> = ["tokenizer.chat_template", "output.weight"]
        var out = Set<String>()
        let sources = root.appendingPathComponent("Sources").path
        guard let walker = FileManager.default.enumerator(atPath: sources) else { return out }
        while let rel = walker.nextObject() as? String {
            guard rel.hasSuffix(".swift") else { continue }
            let text = try String(contentsOfFile: sources + "/" + rel, encoding: .utf8)
            for m in text.matches(of: literal) {
                let family = String(m.output[1].substring ?? ""), name = String(m.output[2].substring ?? "")
                if fileSuffixes.contains(name) || notCodes.contains(family) || notCodeLiterals.contains(family + "." + name) { continue }
                out.insert(family + "." + name)
            }
        }
        return out
    }

    @Test func specListsExactlyTheCodesTheSourcesProduce() throws {
        let spec = try Self.specified(), produced = try Self.produced()
        #expect(spec.count > 150)
        let missing = produced.subtracting(spec.keys).sorted()
        let unused = Set(spec.keys).subtracting(produced).sorted()
        #expect(missing.isEmpty, "codes in Sources missing from SPEC §8: \(missing)")
        #expect(unused.isEmpty, "codes in SPEC §8 that no source produces: \(unused)")
    }

    @Test func everyCodeHasTheStatusTheSpecGives() throws {
        for (code, status) in try Self.specified() {
            let family = String(code.prefix { $0 != "." })
            if status == "—" {
                #expect(ErrorStatus.clientOnly.contains(family), "\(code): the spec says no server produces it")
                #expect(ErrorStatus.status(for: code) == .internalServerError, "\(code)")
            } else {
                #expect(ErrorStatus.status(for: code)?.code == Int(status), "\(code): SPEC says \(status), the server gives \(ErrorStatus.status(for: code).map { "\($0.code)" } ?? "none")")
            }
        }
        // A family nobody declared has no status: the table above must be extended, not guessed.
        #expect(ErrorStatus.status(for: "nosuchfamily.code") == nil)
    }

    /// What a client sees for each kind of thrown error.
    @Test func thrownErrorsMapToCodesAndStatuses() {
        let refused = APIError(ContributionError.duplicate("statement"))
        #expect(refused.code == "contribution.duplicate" && refused.status == .conflict)
        let harmful = APIError(ContributionError.harmful(anchor: 1, withExpert: 2, limit: 1.5))
        #expect(harmful.code == "contribution.harmful" && harmful.status == .unprocessableContent)
        #expect(APIError(SafetensorsError.headerStart).status == .badRequest)
        #expect(APIError(StoreError.corrupt("x")).status == .internalServerError)
        #expect(APIError(TributaryError("model.shape_mismatch", "x")).status == .unprocessableContent)
        // The HTTP layer's refusals get codes too.
        let noRoute = APIError(HTTPError(.notFound))
        #expect(noRoute.code == "api.not_found" && noRoute.status == .notFound)
        #expect(APIError(HTTPError(.methodNotAllowed)).code == "api.method_not_allowed")
        #expect(APIError(HTTPError(.contentTooLarge)).code == "upload.too_large")
        #expect(APIError(HTTPError(.badRequest)).code == "api.bad_request")
        // Anything else is an internal error whose details stay in the server's log.
        struct Opaque: Error {}
        let opaque = APIError(Opaque())
        #expect(opaque.code == "server.internal" && opaque.status == .internalServerError && opaque.message == "internal error")
        // A coded error of an undeclared family is a 500, not a guess.
        #expect(APIError(TributaryError("nosuchfamily.code", "x")).status == .internalServerError)
    }
}
