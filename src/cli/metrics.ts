import { createHash, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import type { Registry } from "prom-client"
import { isLocalClient } from "../auth/local-client.js"
import { sendText } from "../hub/responses.js"
import { sendProblem } from "../server/problem.js"
import { exactPaths, type Mount } from "./router.js"

/**
 * Who may read `/metrics`. Metrics tell an outsider the load, the number of subscribers and the
 * process's memory: not for everyone, yet Prometheus must get in without ceremony.
 */
export interface MetricsAccess {
  /** When set, every scrape must send `Authorization: Bearer <token>`, from wherever it comes. */
  readonly token: string | undefined
  /**
   * Without a token: `true` lets in only clients connected from a loopback address and not
   * relayed by a proxy (no `Forwarded` / `X-Forwarded-For`); `false` lets anyone in.
   */
  readonly loopbackOnly: boolean
}

/** `/metrics`: the registry in Prometheus' text format, to those `access` lets in. */
export function metricsMount(registry: Registry, access: MetricsAccess): Mount {
  const expected = access.token === undefined ? undefined : digest(access.token)
  return {
    serves: "/metrics",
    owns: exactPaths("/metrics"),
    async handle(request, response) {
      const refusal = refuse(request, expected, access.loopbackOnly)
      if (refusal !== undefined) {
        sendProblem(response, refusal.status, refusal.detail, refusal.headers)
        return
      }
      const text = await registry.metrics()
      sendText(response, 200, text, { "content-type": registry.contentType })
    },
  }
}

interface Refusal {
  readonly status: 401 | 403
  readonly detail: string
  readonly headers?: Readonly<Record<string, string>>
}

function refuse(
  request: IncomingMessage,
  expected: Buffer | undefined,
  loopbackOnly: boolean,
): Refusal | undefined {
  if (expected !== undefined) {
    const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1]
    if (presented === undefined) {
      return {
        status: 401,
        detail: "/metrics needs the metrics token: send Authorization: Bearer <the --metrics-token value>.",
        headers: { "www-authenticate": 'Bearer realm="metrics"' },
      }
    }
    // Compared as digests: equal lengths for timingSafeEqual, and no timing clue about the token.
    if (!timingSafeEqual(digest(presented), expected)) {
      return {
        status: 401,
        detail: "The bearer token is not the metrics token (--metrics-token).",
        headers: { "www-authenticate": 'Bearer realm="metrics", error="invalid_token"' },
      }
    }
    return undefined
  }
  if (loopbackOnly && !isLocalClient(request)) {
    return {
      status: 403,
      detail:
        "/metrics answers only clients on this host. Scrape it from here, set --metrics-token and send " +
        "Authorization: Bearer <token>, or serve it on a port of its own with --metrics-port.",
    }
  }
  return undefined
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest()
}
