// What one Redis command's round trip costs at a generation's pace, by how much work the command
// does inside Redis: 16 loops each sending one command every 20 ms (800/s, as 16 answers at 50
// tokens/s), for PUBLISH (what resumable-stream sends per token), Herald's append script (what a
// token costs Herald on the redis engine), a bare XADD (the least any store can send: one native
// command, no script, nothing checked or notified), and scripts that store and notify with
// nothing checked, plus a measured amount of Lua work. Round trip: call → reply on this process's clock; Redis's
// time per call from INFO commandstats, its main-thread CPU per call from INFO cpu.
import { Redis } from "ioredis"
import { createRedisEngine } from "../../dist/engine/index.js"
import { median, percentile } from "../stats.js"
import { deleteKeys, info, redisCpuMicros } from "./redis-server.js"

const LOOPS = 16
const INTERVAL_MS = 20
const PHASE_MS = 4000

/** Stores one entry and notifies, nothing checked; ARGV[1] turns of a Lua loop come first. */
const STORE_AND_NOTIFY = `
local x = 0
for i = 1, tonumber(ARGV[1]) do x = x + i end
redis.call('XADD', KEYS[1], '*', 'd', ARGV[2])
redis.call('PUBLISH', KEYS[1], ARGV[2])
return 1`

/** The commands measured, in the order each round runs them. */
export const COMMANDS = [
  { name: "PUBLISH (resumable-stream, per token)", kind: "publish" },
  { name: "Herald's append script (the redis engine, per token)", kind: "append" },
  { name: "XADD alone: stores, no script, nothing checked or notified", kind: "xadd" },
  { name: "a script: XADD + PUBLISH, nothing checked", kind: "store", turns: 0 },
  { name: "the same + 1,000 turns of a Lua loop", kind: "store", turns: 1000 },
  { name: "the same + 3,000 turns of a Lua loop", kind: "store", turns: 3000 },
]

/**
 * Runs `rounds` rounds of every command in {@link COMMANDS}; returns per command the medians over
 * rounds of the round trip p50 and p99 (ms), Redis's time per call and its main-thread CPU per
 * call (µs).
 */
export async function measureRoundTripCost(url, rounds, onRound) {
  const prefix = `herald-bench-rtc-${process.pid}`
  const client = new Redis(url)
  const engine = createRedisEngine({ url, keyPrefix: prefix })
  const storeSha = await client.script("LOAD", STORE_AND_NOTIFY)
  const data = JSON.stringify({ choices: [{ delta: { content: " token" } }] })
  const send = {
    publish: (i) => client.publish(`${prefix}:channel:${i}`, data),
    append: (i) => engine.append(`log-${i}`, [{ data }]),
    xadd: (i) => client.xadd(`${prefix}:bare:${i}`, "*", "d", data),
    store: (i, turns) => client.evalsha(storeSha, 1, `${prefix}:stream:${i}`, turns, data),
  }
  const byCommand = new Map(COMMANDS.map((command) => [command.name, []]))
  try {
    for (let i = 0; i < LOOPS; i++) await engine.create(`log-${i}`)
    for (let round = 1; round <= rounds; round++) {
      for (const command of COMMANDS) {
        const stat = `cmdstat_${command.kind === "publish" || command.kind === "xadd" ? command.kind : "evalsha"}`
        const run = await phase(client, stat, (i) => send[command.kind](i, command.turns ?? 0))
        byCommand.get(command.name).push(run)
      }
      onRound?.(round)
    }
  } finally {
    await engine.close()
    client.disconnect()
    await deleteKeys(url, prefix)
  }
  return COMMANDS.map((command) => {
    const runs = byCommand.get(command.name)
    const of = (key) => median(runs.map((run) => run[key]))
    return {
      name: command.name,
      p50: of("p50"),
      p99: of("p99"),
      usecPerCall: of("usecPerCall"),
      cpuPerCall: of("cpuPerCall"),
    }
  })
}

/**
 * One phase: LOOPS loops sending `call(i)` every INTERVAL_MS for PHASE_MS, starts spread; `stat`
 * is the commandstats line of the command sent.
 */
async function phase(client, stat, call) {
  await client.config("RESETSTAT")
  const cpuBefore = await info(client, "cpu")
  const roundTrips = []
  const end = Date.now() + PHASE_MS
  await Promise.all(
    Array.from({ length: LOOPS }, async (_, i) => {
      await sleep((i * INTERVAL_MS) / LOOPS)
      while (Date.now() < end) {
        const started = performance.now()
        await call(i)
        roundTrips.push(performance.now() - started)
        await sleep(INTERVAL_MS)
      }
    }),
  )
  const cpuAfter = await info(client, "cpu")
  const line = (await info(client, "commandstats"))[stat]
  const stats = Object.fromEntries(line.split(",").map((pair) => pair.split("=")))
  return {
    p50: percentile(roundTrips, 50),
    p99: percentile(roundTrips, 99),
    usecPerCall: Number(stats.usec_per_call),
    cpuPerCall: redisCpuMicros(cpuBefore, cpuAfter) / roundTrips.length,
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
