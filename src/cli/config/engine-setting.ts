import { z } from "zod"
import type { ValueType } from "./values.js"

/**
 * `--engine`: `sqlite`, `memory`, or the URL of the Redis every node shares. A URL is checked
 * here, before anything connects, so that a typo is a configuration error that says what is
 * wrong rather than a connection that retries forever.
 */

/** A Redis URL, taken apart. */
export interface RedisUrl {
  /** As given. Holds the password, if any: show {@link maskCredentials} of it instead. */
  readonly url: string
  /** `rediss://`: TLS. */
  readonly tls: boolean
  readonly host: string
  readonly port: number
  readonly username: string | undefined
  readonly password: string | undefined
  readonly db: number
}

/** What `--engine` names. */
export type EngineSetting = "sqlite" | "memory" | RedisUrl

const DEFAULT_REDIS_PORT = 6379

/** The Redis URL forms, for messages. */
export const REDIS_URL_FORM = "redis://[user:password@]host:port[/db] (rediss:// for TLS)"

/** `value` with the password of a URL's userinfo (or the userinfo, when it has no user part) as `***`. */
export function maskCredentials(value: string): string {
  // Up to the last "@" before the path: a password may hold "@" or ":" (unencoded, it breaks the
  // URL, but it must not reach a log either way).
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":")
    return `${scheme}${colon === -1 ? "***" : `${userinfo.slice(0, colon)}:***`}@`
  })
}

/** Reads a Redis URL, or says what is wrong with it. */
export function parseRedisUrl(text: string): RedisUrl | { readonly problem: string } {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { problem: `not a valid URL (give ${REDIS_URL_FORM})` }
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return { problem: `the scheme must be redis:// or rediss:// (TLS), not ${url.protocol}//` }
  }
  if (url.hostname === "") return { problem: "the URL names no host" }
  if (url.search !== "" || url.hash !== "") {
    return { problem: "a query or fragment is not supported; use herald serve's --redis-* settings" }
  }
  const path = url.pathname.replace(/^\//, "")
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    return { problem: `the path must be a database number (/0, /1, …), not /${path}` }
  }
  const decode = (part: string): string | undefined => (part === "" ? undefined : decodeURIComponent(part))
  return {
    url: text,
    tls: url.protocol === "rediss:",
    // An IPv6 literal comes bracketed; sockets want it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port),
    username: decode(url.username),
    password: decode(url.password),
    db: path === "" ? 0 : Number(path),
  }
}

/** `host:port`, as the Sentinel and Cluster seed lists take them. */
export function parseHostPort(text: string): { readonly host: string; readonly port: number } | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/i.exec(text.trim())
  const port = Number(match?.[3])
  if (match === null || port < 1 || port > 65535) return undefined
  return { host: (match[1] ?? match[2]) as string, port }
}

/** What is wrong with an `--engine` value that is neither an engine's name nor a good Redis URL. */
function engineProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined
  const text = value.trim()
  if (/^rediss?$/i.test(text)) return `give the Redis URL, e.g. redis://127.0.0.1:${DEFAULT_REDIS_PORT}`
  if (!text.includes("://")) return undefined
  const parsed = parseRedisUrl(text)
  return "problem" in parsed ? parsed.problem : undefined
}

/** The `--engine` value type. */
export const engineSetting: ValueType<EngineSetting> = {
  schema: z
    .string()
    .trim()
    .transform((value, context): EngineSetting => {
      const lower = value.toLowerCase()
      if (lower === "sqlite" || lower === "memory") return lower
      const parsed = value.includes("://") ? parseRedisUrl(value) : undefined
      if (parsed !== undefined && !("problem" in parsed)) return parsed
      context.issues.push({ code: "custom", message: "not an engine", input: value })
      return z.NEVER
    }),
  expected: `"sqlite", "memory", or a Redis URL ${REDIS_URL_FORM}`,
  problem: engineProblem,
}
