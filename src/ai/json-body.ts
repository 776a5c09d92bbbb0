import type { IncomingMessage } from "node:http"
import {
  bodyPassesBound,
  DEFAULT_MAX_JSON_DEPTH,
  DEFAULT_MAX_JSON_KEYS,
  DEFAULT_MAX_JSON_VALUES,
} from "../auth/json-depth.js"
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
  /** How many keys one object may have. */
  readonly maxBodyKeys: number
  /** How many values (array items and object members, at any depth) the body may hold. */
  readonly maxBodyValues: number
}

/** How deep a body may nest by default. */
export const DEFAULT_MAX_BODY_DEPTH = DEFAULT_MAX_JSON_DEPTH

/** How many keys one object of a body may have by default. */
export const DEFAULT_MAX_BODY_KEYS = DEFAULT_MAX_JSON_KEYS

/** How many values a body may hold by default. */
export const DEFAULT_MAX_BODY_VALUES = DEFAULT_MAX_JSON_VALUES

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
 * `bodyIdleTimeoutMs`, nesting at most `maxBodyDepth` deep, with at most `maxBodyKeys` keys in
 * any object and `maxBodyValues` values in all: each is measured on the text, before it is parsed.
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
  const text = (await readBody(request, limits, JSON_BODY_ERRORS)).toString("utf8")
  const passed = bodyPassesBound(text, limits)
  if (passed !== undefined) {
    const refusals = {
      depth: `The body nests arrays and objects more than ${limits.maxBodyDepth} levels deep; no request needs that many.`,
      keys: `An object in the body has more than ${limits.maxBodyKeys} keys, the most this server takes (maxBodyKeys; herald serve's --ai-max-body-keys); no request needs that many: send objects with fewer keys.`,
      values: `The body holds more than ${limits.maxBodyValues} values (array items and object members, at any depth), the most this server takes (maxBodyValues; herald serve's --ai-max-body-values); no request needs that many: send fewer or smaller messages, tools or fields.`,
    }
    throw new BodyError(400, refusals[passed])
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new BodyError(400, `The body is not valid JSON: ${(error as Error).message}`)
  }
}
