/**
 * What the redis engine asks of a Redis it has reached before it takes it, so that a setting
 * that would fail every call later stops {@link openRedisEngine} now and names what to change:
 * a Cluster node reached without asking for a Cluster (its other slots' keys would answer MOVED),
 * and a user (Redis ACL) that may not run a command the engine runs, on keys and channels named
 * as the engine names them. Each command is one the engine sends, on a log no one has; none
 * leaves anything behind. Runs whenever the command connection is ready: at open, or once Redis
 * comes (Herald may start first), and after every reconnect (a restart may have loaded other
 * settings, a failover reached another server).
 */

import { randomBytes } from "node:crypto"
import { NOT_PERMITTED, permissionsFix, type RedisLink, RedisSetupError } from "./redis-client.js"
import { type GlobalKeys, logKeys } from "./redis-keys.js"

/** What the probe needs to know of the engine. */
export interface ProbeTarget {
  readonly prefix: string
  readonly global: GlobalKeys
  readonly cluster: boolean
}

/** `return 1`, as EVAL and EVALSHA run it. */
const TRIVIAL_SCRIPT = "return 1"
const TRIVIAL_SHA = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"

/**
 * Resolves when Redis lets the engine do what it does; rejects with a {@link RedisSetupError}
 * when it refuses how it is used, and with another error when it cannot tell (Redis away).
 */
export async function probeRedis(
  command: RedisLink,
  signalsActive: () => Promise<void>,
  target: ProbeTarget,
): Promise<void> {
  const { client } = command
  if (client.status !== "ready") throw new Error(`the connection is ${client.status}`)
  if (!target.cluster && (await clusterEnabled(command))) {
    throw command.refused(
      (names) => `is a Cluster node: ask for a Cluster with ${names.cluster}`,
      "CLUSTER MYID answered: cluster mode is on",
    )
  }
  const keys = logKeys(target.prefix, `herald-probe-${randomBytes(6).toString("hex")}`)
  const member = "\0herald-probe"
  const sent: [string, (string | number)[]][] = [
    ["PING", []],
    // The append script asks it (replication forks, redis-scripts.ts).
    ["INFO", ["replication"]],
    ["EVAL", [TRIVIAL_SCRIPT, 0]],
    ["EVALSHA", [TRIVIAL_SHA, 0]],
    ["XADD", [keys.stream, "NOMKSTREAM", "1-1", "d", ""]],
    ["XRANGE", [keys.stream, "-", "+", "COUNT", 1]],
    ["XTRIM", [keys.stream, "MAXLEN", 0]],
    ["HSET", [keys.meta, "probe", 1]],
    ["HGET", [keys.meta, "probe"]],
    ["HMGET", [keys.meta, "probe"]],
    ["HDEL", [keys.meta, "probe"]],
    ["PEXPIRE", [keys.stream, 1_000]],
    ["EXISTS", [keys.stream]],
    ["DEL", [keys.stream, keys.meta]],
    [target.cluster ? "SPUBLISH" : "PUBLISH", [keys.channel, ""]],
    ...(target.cluster ? [["CLUSTER", ["INFO"]] as [string, string[]]] : []),
    ["ZADD", [target.global.logs, "XX", 0, member]],
    ["ZSCORE", [target.global.logs, member]],
    ["ZRANGEBYLEX", [target.global.logs, "-", "+", "LIMIT", 0, 1]],
    ["ZRANGEBYSCORE", [target.global.leases, "-inf", "+inf", "LIMIT", 0, 1]],
    ["ZREM", [target.global.leases, member]],
  ]
  // The lease is renewed in a transaction, as holdLease sends it: ZADD XX of a member none has
  // and ZREMRANGEBYSCORE from 1 to 0 change nothing.
  const lease = client
    .multi()
    .zadd(target.global.leases, "XX", 0, member)
    .zremrangebyscore(target.global.leases, 1, 0)
    .exec()
  const outcomes = await Promise.allSettled([
    ...sent.map(([name, args]) => client.call(name, ...args)),
    lease,
    signalsActive(),
  ])
  // On a Cluster the subscriber link is this one: refused by the last look, it tells nothing new.
  const failures = outcomes.flatMap((outcome) =>
    outcome.status === "rejected" && outcome.reason !== command.refusal ? [outcome.reason] : [],
  )
  // The subscriber link names the setting itself.
  const named = failures.find((failure) => failure instanceof RedisSetupError)
  if (named !== undefined) throw named
  const refused = failures.map(refusal).find((reply) => reply !== undefined)
  if (refused !== undefined) throw command.refused(permissionsFix, refused)
  // Any other reply (NOSCRIPT from another Cluster node, OOM from a full Redis) is a command
  // the user may run; what got none (a connection lost) leaves the question open.
  const unanswered = failures.find((failure) => !(failure instanceof Error && failure.name === "ReplyError"))
  if (unanswered !== undefined) throw unanswered
}

/** Whether the server answers CLUSTER MYID (cluster mode on); a refusal of it tells nothing. */
async function clusterEnabled(command: RedisLink): Promise<boolean> {
  try {
    await command.client.call("CLUSTER", "MYID")
    return true
  } catch {
    return false
  }
}

/**
 * Redis's reply when `error` is a refusal for the user's permissions, else `undefined`. A
 * transaction's refusals (of MULTI, or of a command in it) are in the errors before its EXEC's.
 */
function refusal(error: unknown): string | undefined {
  const replies = [error, ...((error as { previousErrors?: unknown[] }).previousErrors ?? [])].map((each) =>
    each instanceof Error ? each.message : String(each),
  )
  return replies.find((reply) => NOT_PERMITTED.test(reply))
}
