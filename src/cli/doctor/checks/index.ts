import type { Evidence } from "../evidence.js"
import type { CheckResult } from "../verdict.js"
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

/** Judges the evidence with every check. */
export function runChecks(evidence: Evidence): CheckResult[] {
  return CHECKS.map((check) => check(evidence))
}
