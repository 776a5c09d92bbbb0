import type { Evidence } from "../evidence.js"
import { COMPRESSION_FIXES } from "../fixes.js"
import { seconds } from "../format.js"
import { type CheckResult, result } from "../verdict.js"
import { checkBursts } from "./bursts.js"

/**
 * A compressed stream reaches the client only when the compressor flushes: most middleware
 * flushes when its buffer fills, so events wait. A server that flushes per event gets a warn:
 * it works here, and any proxy that recompresses undoes it.
 */
export function checkCompression(evidence: Evidence): CheckResult {
  const { observation } = evidence
  if (observation.status === undefined) return result("compression", "skip", "no response")
  const encoding = observation.headers["content-encoding"]?.trim().toLowerCase()
  if (encoding === undefined || encoding === "" || encoding === "identity")
    return result("compression", "pass", "not compressed")
  if (observation.events.length === 0)
    return result(
      "compression",
      "fail",
      `${encoding}-compressed, and no event came through in ${seconds(observation.watchedMs)}: the compressor holds events until its buffer fills`,
      COMPRESSION_FIXES,
    )
  if (checkBursts(evidence).verdict === "fail")
    return result(
      "compression",
      "fail",
      `${encoding}-compressed, and events arrive in bursts: the compressor releases them when its buffer fills`,
      COMPRESSION_FIXES,
    )
  return result(
    "compression",
    "warn",
    `${encoding}-compressed; events still came one by one (flushed per event), but any proxy that recompresses will hold them`,
    COMPRESSION_FIXES,
  )
}
