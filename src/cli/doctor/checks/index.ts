import type { Evidence } from "../evidence.js"
import { type CheckResult, result } from "../verdict.js"
import { checkAccelBuffering } from "./accel-buffering.js"
import { checkBursts } from "./bursts.js"
import { checkCacheControl } from "./cache-control.js"
import { checkCompression } from "./compression.js"
import { checkConnection } from "./connection.js"
import { checkContentType } from "./content-type.js"
import { checkDelivery } from "./delivery.js"
import { checkHeartbeat } from "./heartbeat.js"
import { checkHttpVersion } from "./http-version.js"
import { checkIds } from "./ids.js"
import { checkLifetime } from "./lifetime.js"
import { checkResponse } from "./response.js"
import { checkResume } from "./resume.js"
import { checkRetry } from "./retry.js"
import { checkTiming } from "./timing.js"

/** Every check, in the order the report lists them: the response first, then the stream's behaviour. */
const CHECKS: readonly ((evidence: Evidence) => CheckResult)[] = [
  checkResponse,
  checkContentType,
  checkCacheControl,
  checkAccelBuffering,
  checkConnection,
  checkHttpVersion,
  checkCompression,
  checkTiming,
  checkBursts,
  checkHeartbeat,
  checkLifetime,
  checkIds,
  checkRetry,
  checkResume,
  checkDelivery,
]

/**
 * Judges the evidence with every check. A response that is not 200 is no stream (EventSource
 * gives up on it): the response check says so, with what the server said, and the checks of a
 * stream are skipped rather than judge an error document's headers and end.
 */
export function runChecks(evidence: Evidence): CheckResult[] {
  const results = CHECKS.map((check) => check(evidence))
  const { status } = evidence.observation
  if (status === undefined || status === 200) return results
  const reason = `no stream to judge: the response was ${status}, not 200`
  return results.map((check) => (check.id === "response" ? check : result(check.id, "skip", reason)))
}
