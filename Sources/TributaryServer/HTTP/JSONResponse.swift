import Foundation
import Hummingbird
import TributaryHTTP
import NIOCore
import TributaryCore

/// Writing answers: JSON (newline-terminated) and plain text. Reading requests is `RequestBody`.
enum JSONResponse {
    static func make(_ json: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = JSONWriter.serialize(json)
        bytes.append(0x0a)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
