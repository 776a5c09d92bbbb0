import type { IncomingMessage } from "node:http"
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeper } from "../auth/json-depth.js"
import { type BodyErrors, type BodyLimits, readBody } from "../server/body.js"

/** A request body that cannot be read as JSON: its status (400, 408, 413, 415) and why. */
export class BodyError extends Error {
  override readonly name = "BodyError"
  constructor(
    readonly status: 400 | 408 | 413 | 415,
    message: string,
  ) {
    super(message)
  }
}

/** Bounds on reading one JSON request body. */
export interface JsonBodyLimits extends BodyLimits {
  /** How deep arrays and objects may nest. */
  readonly maxBodyDepth: number
}

/** How deep a body may nest by default. */
export const DEFAULT_MAX_BODY_DEPTH = DEFAULT_MAX_JSON_DEPTH

const JSON_BODY_ERRORS: BodyErrors = {
  tooLarge: (maxBytes) =>
    new BodyError(413, `The body is larger than this server accepts (${maxBytes} bytes).`),
  stalled: (idleMs) =>
    new BodyError(
      408,
      `The request body stopped arriving for ${idleMs} ms, so the server stopped reading it. Send the body without pauses (the limit is the server's body idle timeout, --body-idle-timeout).`,
    ),
  abandoned: () => new BodyError(400, "The client closed the connection before the request body ended."),
}

/**
 * The JSON body of a request, at most `maxBodyBytes` (a body announced larger by `Content-Length`
 * is refused unread; a longer one is cut at the limit), arriving without a pause longer than
 * `bodyIdleTimeoutMs`, nesting at most `maxBodyDepth` deep.
 */
export async function readJsonBody(request: IncomingMessage, limits: JsonBodyLimits): Promise<unknown> {
  const [media, ...parameters] = (request.headers["content-type"] ?? "").split(";")
  const type = media?.trim().toLowerCase()
  if (type !== "" && type !== "application/json") {
    throw new BodyError(415, `The body must be JSON (Content-Type: application/json), not ${type}.`)
  }
  // JSON is UTF-8 (RFC 8259 §8.1): a body said to be another charset would be read wrong.
  const charset = parameters
    .map((parameter) => parameter.split("="))
    .find(([name]) => name?.trim().toLowerCase() === "charset")?.[1]
    ?.trim()
    .replace(/^"(.*)"$/, "$1")
    .toLowerCase()
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new BodyError(415, `The body must be JSON in UTF-8, not ${charset}.`)
  }
  const encoding = request.headers["content-encoding"]?.trim().toLowerCase()
  if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
    throw new BodyError(
      415,
      `The body must be sent uncompressed: this server does not read Content-Encoding ${encoding}.`,
    )
  }
  const bytes = await readBody(request, limits, JSON_BODY_ERRORS)
  let body: unknown
  try {
    body = JSON.parse(bytes.toString("utf8"))
  } catch (error) {
    throw new BodyError(400, `The body is not valid JSON: ${(error as Error).message}`)
  }
  if (nestsDeeper(body, limits.maxBodyDepth)) {
    throw new BodyError(
      400,
      `The body nests arrays and objects more than ${limits.maxBodyDepth} levels deep; no request needs that many.`,
    )
  }
  return body
}
