import type { Evidence } from "../evidence.js"
import { IDLE_TIMEOUT_FIXES } from "../fixes.js"
import { seconds } from "../format.js"
import type { Observation } from "../observation.js"
import { type CheckResult, result } from "../verdict.js"

/** nginx's proxy_read_timeout and AWS ALB's idle timeout default to 60 s (Cloudflare: ~100 s). */
export const IDLE_TIMEOUT_MS = 60_000
/** A silence this long leaves too little margin under {@link IDLE_TIMEOUT_MS}. */
export const SILENCE_WARN_MS = 45_000

/** The longest time the watch went without a byte of body: what a proxy's idle timer measures. */
export function longestSilenceMs(observation: Observation): number {
  const start = observation.headersMs ?? 0
  const end = observation.endedMs ?? start + observation.watchedMs
  let longest = 0
  let previous = start
  for (const { atMs } of [...observation.chunks, { atMs: end }]) {
    longest = Math.max(longest, atMs - previous)
    previous = atMs
  }
  return longest
}

/** Heartbeat comments keep proxies from closing a quiet stream. */
export function checkHeartbeat({ observation }: Evidence): CheckResult {
  if (observation.status === undefined) return result("heartbeat", "skip", "no response")
  const silence = longestSilenceMs(observation)
  const watched = `in the ${seconds(observation.watchedMs)} watched`
  if (silence >= IDLE_TIMEOUT_MS)
    return result(
      "heartbeat",
      "fail",
      `${seconds(silence)} without a byte: nginx and AWS ALB close a connection idle for 60 s (Cloudflare ~100 s)`,
      IDLE_TIMEOUT_FIXES,
    )
  if (silence >= SILENCE_WARN_MS)
    return result(
      "heartbeat",
      "warn",
      `${seconds(silence)} without a byte: close to the 60 s idle timeout of nginx and AWS ALB`,
      IDLE_TIMEOUT_FIXES,
    )
  const comments = observation.commentsMs
  if (comments.length === 0)
    return result(
      "heartbeat",
      "warn",
      `no heartbeat comment ${watched}${observation.watchedMs < IDLE_TIMEOUT_MS ? " (watch 70 s to be sure)" : ""}: a quiet stream is cut after 60 s by nginx and AWS ALB, ~100 s by Cloudflare`,
      IDLE_TIMEOUT_FIXES,
    )
  const intervals = comments.slice(1).map((at, index) => at - (comments[index] ?? at))
  const every = intervals.length === 0 ? "" : `every ~${seconds(Math.max(...intervals))}, `
  return result(
    "heartbeat",
    "pass",
    `${comments.length} heartbeat(s) ${watched}, ${every}longest silence ${seconds(silence)} (nginx/ALB cut at 60 s, Cloudflare ~100 s)`,
  )
}
