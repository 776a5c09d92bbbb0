import type { IncomingMessage } from "node:http"
import { Http2ServerRequest, type ServerHttp2Stream } from "node:http2"

/**
 * The HTTP/2 stream `request` came on, or `undefined` when it came over HTTP/1. The connection
 * decides, not `httpVersionMajor`: an HTTP/1 request line may claim `HTTP/2.0`, and Node's HTTP/1
 * parser takes it as such.
 */
export function http2StreamOf(request: IncomingMessage): ServerHttp2Stream | undefined {
  return request instanceof (Http2ServerRequest as unknown as typeof IncomingMessage)
    ? (request as unknown as Http2ServerRequest).stream
    : undefined
}
