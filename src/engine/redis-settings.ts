/**
 * Settings of a reached Redis that put the logs it holds at risk, told to the operator at open
 * (docs/engines.md, "What the guarantee needs from Redis"): nothing the engine can refuse to run
 * with, since a Redis for development may well keep no AOF, but what a production one must not
 * be left with unawares.
 */

import type { RedisClient } from "./redis-client.js"

/** One line for the operator, at its level. */
export interface SettingNote {
  readonly level: "warn" | "info"
  readonly message: string
}

/**
 * What the Redis behind `client` (at `address`) risks for the logs, from its `INFO memory` and
 * `INFO persistence`; nothing when it cannot tell (a section it does not give, a refusal).
 */
export async function riskySettings(client: RedisClient, address: string): Promise<SettingNote[]> {
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
  const notes: SettingNote[] = []
  const policy = memory.get("maxmemory_policy")
  if (policy !== undefined && policy !== "noeviction") {
    notes.push({
      level: "warn",
      message: `redis engine: Redis at ${address} evicts keys when full (maxmemory-policy ${policy}): a log whose keys it evicts starts over, its updates lost; set maxmemory-policy noeviction, and a full Redis then refuses writes (503) instead`,
    })
  }
  if (persistence.get("aof_enabled") === "0") {
    notes.push({
      level: "info",
      message: `redis engine: Redis at ${address} keeps no append-only file (appendonly no): a restart loses every update since its last snapshot; production wants appendonly yes (docs/deployment.md)`,
    })
  }
  return notes
}
