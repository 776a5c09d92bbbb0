/**
 * Settings of a reached Redis that put the logs it holds at risk, warned of when the engine
 * reaches it (docs/engines.md, "What the guarantee needs from Redis"): nothing the engine can refuse to run
 * with, since a Redis for development may well keep no AOF, but what a production one must not
 * be left with unawares (docs/deployment.md says it needs both).
 */

import type { RedisClient } from "./redis-client.js"

/**
 * What the Redis behind `client` (at `address`) risks for the logs, one warning each, from its
 * `INFO memory` and `INFO persistence`; nothing when it cannot tell (a section it does not give,
 * a refusal).
 */
export async function riskySettings(client: RedisClient, address: string): Promise<string[]> {
  const fields = async (section: string): Promise<Map<string, string>> => {
    try {
      const text = String(await client.call("INFO", section))
      return new Map(
        text
          .split("\r\n")
          .map((line) => line.split(":", 2) as [string, string | undefined])
          .filter((pair): pair is [string, string] => pair[1] !== undefined),
      )
    } catch {
      return new Map()
    }
  }
  const [memory, persistence] = await Promise.all([fields("memory"), fields("persistence")])
  const warnings: string[] = []
  const policy = memory.get("maxmemory_policy")
  if (policy !== undefined && policy !== "noeviction") {
    warnings.push(
      `redis engine: Redis at ${address} evicts keys when full (maxmemory-policy ${policy}): a log whose keys it evicts starts over, its updates lost; set maxmemory-policy noeviction, and a full Redis then refuses writes (503) instead`,
    )
  }
  if (persistence.get("aof_enabled") === "0") {
    warnings.push(
      `redis engine: Redis at ${address} keeps no append-only file (appendonly no): a restart loses every update since its last snapshot; production wants appendonly yes (docs/deployment.md)`,
    )
  }
  return warnings
}
