import type { IncomingMessage } from "node:http"

/**
 * A request path that `new URL` leaves exactly as sent: segments that hold only characters no URL
 * parser encodes or decodes (no `%`, `\`, space, quote, `#`, `<`, `>`, `` ` ``, `{`, `}`,
 * non-ASCII), none empty but the last (`//` would start a host), none starting with a dot (`.`
 * and `..` are resolved, `.%2e` too).
 */
const PLAIN_PATH = /^(?:\/(?![/.])[\w\-.~!$&'()*+,;=:@]*)+$/

/**
 * Where a request goes: its path at once, its whole URL (query, host) only when asked for. A URL
 * is parsed only then, or when the path is not plain: an append needs the path alone, and parsing
 * a URL costs more than the rest of its routing.
 */
export class RequestTarget {
  /** The URL's path, as `new URL` parses it. */
  readonly path: string
  readonly #request: IncomingMessage
  #url: URL | undefined

  constructor(request: IncomingMessage) {
    this.#request = request
    const raw = request.url ?? "/"
    const query = raw.indexOf("?")
    const rawPath = query === -1 ? raw : raw.slice(0, query)
    this.path = PLAIN_PATH.test(rawPath) ? rawPath : this.url.pathname
  }

  /** The request's URL, its host from `Host` (for `Location`). */
  get url(): URL {
    this.#url ??= requestUrl(this.#request)
    return this.#url
  }
}

function requestUrl(request: IncomingMessage): URL {
  const scheme = (request.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http"
  try {
    return new URL(request.url ?? "/", `${scheme}://${request.headers.host ?? "localhost"}`)
  } catch {
    return new URL(request.url ?? "/", `${scheme}://localhost`)
  }
}
