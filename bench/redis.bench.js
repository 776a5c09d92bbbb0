// The redis engine and several nodes (issue 11 §4), each figure against its peer in the same run:
//   1. Redis round trips, bytes and CPU per publish request (single form POST; JSON batch of 100),
//      counted through a hub on the redis engine (bench/redis/round-trips.js).
//   2. One node: fan-out at 10k subscribers through the hub on sqlite, redis and memory
//      (the fan-out harness, bench/server/), interleaved; redis ÷ sqlite.
//   3. One node at light load (10 subscribers, 50 events/s): publish→receive p50/p99 on sqlite,
//      redis and memory; what redis adds to sqlite's p50.
//   4. Three nodes × 2k subscribers on one Redis against one node × 6k: every subscriber of
//      every node receives every update (checked per subscriber); deliveries/s, p50/p99, CPU
//      per delivery per node, Redis's bytes per update (bench/redis/cluster.js); then 1, 2, 3
//      nodes publishing flat out: Redis's commands, CPU and bytes per update as nodes are added.
//   5. What a subscriber that wants none of the updates costs its node per update
//      (bench/redis/unmatched.js): every node checks every update against every subscriber.
//   6. Failover: 1k subscribers of a node killed with SIGKILL resume on the survivors with
//      their Last-Event-ID; time from the kill to all caught up, exactly once
//      (bench/redis/failover.js).
//   7. One command's round trip at a generation's pace (800/s) by its work inside Redis: PUBLISH
//      (resumable-stream's per token) against Herald's append script, and scripts that store
//      and notify with a measured amount of Lua work added (bench/redis/round-trip-cost.js).
// Resume lookup at 1M entries in Redis is hub-resume.bench.js's redis row, not repeated here.
//
// Redis: a redis-server of its own (AOF, appendfsync everysec) on a spare loopback port, stopped
// at the end; HERALD_BENCH_REDIS_URL names another. Every cell uses key prefixes of its own and
// deletes its keys.
//
// `npm run bench -- redis`: 5 runs of each part, about 16 minutes on the shared 2-core machine.
// Quick look: `HERALD_BENCH_RUNS=1 npm run bench -- redis`; some parts only:
// HERALD_BENCH_REDIS_PARTS=round-trips,fanout,latency,cluster,unmatched,failover,round-trip-cost
// (any of them).
// HERALD_BENCH_SVG=<file> writes the fan-out bar chart there.
import { writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { barChart } from "./redis/bar-chart.js"
import { measureCluster } from "./redis/cluster.js"
import { measureFailover } from "./redis/failover.js"
import { measureLightLatency } from "./redis/light-latency.js"
import { startRedis } from "./redis/redis-server.js"
import { COMMANDS, measureRoundTripCost } from "./redis/round-trip-cost.js"
import { measureRoundTrips } from "./redis/round-trips.js"
import { measureUnmatched } from "./redis/unmatched.js"
import { describeFanoutRun, measureFanout, printFanoutTable, runInterleaved } from "./server/harness.js"
import { median, printTable } from "./stats.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 5)
const PARTS = (
  process.env.HERALD_BENCH_REDIS_PARTS ??
  "round-trips,fanout,latency,cluster,unmatched,failover,round-trip-cost"
).split(",")
const FANOUT_SUBSCRIBERS = 10_000
const ENGINES = ["hub-sqlite", "hub-redis", "hub"]
const LABELS = {
  "hub-sqlite": "hub, sqlite engine",
  "hub-redis": "hub, redis engine",
  hub: "hub, memory engine",
}
const LIGHT = { subscribers: 10, rate: 50, durationMs: 4000 }
const CLUSTER_SETUPS = [
  { name: "3 nodes × 2,000", nodes: 3, perNode: 2000 },
  { name: "1 node × 6,000", nodes: 1, perNode: 6000 },
]
/** The cells of the cost-by-nodes table. */
const COST = { nodes: ["1", "2", "3"], perNode: 10, events: 3000 }
/** Prints whether a goal is met, with the figures it compares. */
const goal = (met, text) => console.log(`\n${met ? "Goal met" : "Goal NOT met"}: ${text}`)
const format = (value) => Math.round(value).toLocaleString("en-US")
const ms = (value) => value.toFixed(1)

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")
const redis = await startRedis()
// The fan-out harness's hub-redis servers (bench/server/server.js) find it here.
process.env.HERALD_BENCH_REDIS_URL = redis.url
console.log(`Redis: ${redis.description}`)
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.versions.node}, ` +
    `${new Date().toISOString().slice(0, 10)}; load average at the start ${load()}`,
)
try {
  if (PARTS.includes("round-trips")) await roundTrips()
  if (PARTS.includes("fanout")) await fanout()
  if (PARTS.includes("latency")) await lightLatency()
  if (PARTS.includes("cluster")) {
    await cluster()
    await redisCostByNodes()
  }
  if (PARTS.includes("unmatched")) await unmatched()
  if (PARTS.includes("failover")) await failover()
  if (PARTS.includes("round-trip-cost")) await roundTripCost()
} finally {
  const warnings = await redis.stop()
  console.log(`\nLoad average at the end: ${load()}`)
  if (warnings.length > 0) console.log(`Redis logged slow disk writes:\n${warnings.join("\n")}`)
}

async function roundTrips() {
  const results = await measureRoundTrips(redis.url)
  const per = (value, result) =>
    (value / result.updatesPerRequest).toFixed(result.updatesPerRequest > 1 ? 1 : 0)
  printTable(
    "Redis round trips, bytes and CPU per publish request (hub on the redis engine, 10 subscribers listening; commands counted with MONITOR, bytes and CPU from INFO)",
    [
      "request",
      "requests",
      "Redis commands sent per request",
      "commands the script runs in Redis, per request",
      "bytes to Redis per request (per update)",
      "bytes from Redis per request (per update)",
      "Redis main-thread CPU µs per request (per update)",
      "updates each subscriber received",
    ],
    results.map((result) => [
      result.kind,
      String(result.requests),
      `${result.commandsPerRequest.toFixed(2)} (${describeCommands(result.sentByCommand)})`,
      result.insidePerRequest.toFixed(1),
      `${format(result.bytesInPerRequest)} (${per(result.bytesInPerRequest, result)})`,
      `${format(result.bytesOutPerRequest)} (${per(result.bytesOutPerRequest, result)})`,
      `${result.redisCpuPerRequest.toFixed(1)} (${(result.redisCpuPerRequest / result.updatesPerRequest).toFixed(1)})`,
      `${result.fewest}–${result.most} of ${result.updates}`,
    ]),
  )
  for (const result of results) {
    console.log(`\nInside Redis, per ${result.kind}: ${describeCommands(result.insideByCommand)}`)
  }
  const most = Math.max(...results.map((result) => result.commandsPerRequest))
  goal(most <= 2, `at most 2 Redis round trips per publish request (measured: ${most.toFixed(2)})`)
}

async function fanout() {
  const results = await runInterleaved(
    [FANOUT_SUBSCRIBERS],
    RUNS,
    (contender, n) => measureFanout(contender, n),
    describeFanoutRun,
    ENGINES,
  )
  const cpu = (key) => (runs) => `${median(runs.map((run) => run[key])).toFixed(2)}`
  printFanoutTable({
    title: `One node: fan-out through the hub at ${format(FANOUT_SUBSCRIBERS)} subscribers, by engine (~100-byte events; median of ${RUNS} runs)`,
    results,
    sizes: [FANOUT_SUBSCRIBERS],
    contenders: ENGINES,
    reference: "hub-sqlite",
    ratioHeader: "÷ sqlite",
    ratio: (sqlite, other) => other / sqlite,
    labels: LABELS,
    extraColumns: [
      { header: "server CPU µs/delivery, closed loop", value: cpu("closedCpu") },
      { header: "server CPU µs/delivery, open loop", value: cpu("openCpu") },
    ],
  })
  const runsOf = (engine) => results.get(`${engine}@${FANOUT_SUBSCRIBERS}`)
  const closed = (engine) => median(runsOf(engine).map((run) => run.closed))
  const open = (engine) => median(runsOf(engine).map((run) => run.open))
  // On a shared machine a run's rate follows the CPU its server got: the ratio within each run
  // (the contenders back to back) is steadier than the ratio of the medians above.
  const perRun = runsOf("hub-redis").map((run, i) => run.closed / runsOf("hub-sqlite")[i].closed)
  const cpuRatio =
    median(runsOf("hub-redis").map((run) => run.closedCpu)) /
    median(runsOf("hub-sqlite").map((run) => run.closedCpu))
  console.log(
    `\nredis ÷ sqlite, closed loop, within each run: ${perRun.map((ratio) => `${ratio.toFixed(2)}×`).join(", ")}; ` +
      `server CPU per delivery, redis ÷ sqlite: ${cpuRatio.toFixed(2)}×`,
  )
  goal(
    median(perRun) >= 0.9,
    `redis ≥ 0.9× sqlite's deliveries/s at 10k subscribers, closed loop (median of the per-run ratios: ${median(perRun).toFixed(2)}×)`,
  )
  if (process.env.HERALD_BENCH_SVG !== undefined) {
    const panel = (heading, value) => ({
      heading,
      bars: ENGINES.map((engine) => ({ label: LABELS[engine], value: value(engine) })),
    })
    const svg = barChart({
      title: `Fan-out through one hub node at ${format(FANOUT_SUBSCRIBERS)} subscribers: deliveries/s`,
      subtitle: `npm run bench -- redis · median of ${RUNS} runs · ${new Date().toISOString().slice(0, 10)} · shared 2-core VM`,
      panels: [
        panel("Closed loop: one event at a time, each awaited", closed),
        panel("Open loop: events offered at 10M deliveries/s, those due together in one append", open),
      ],
      format,
    })
    writeFileSync(process.env.HERALD_BENCH_SVG, svg)
    console.log(`\nChart written to ${process.env.HERALD_BENCH_SVG}`)
  }
}

async function lightLatency() {
  const results = await runInterleaved(
    [LIGHT.subscribers],
    RUNS,
    (contender, n) => measureLightLatency(contender, { ...LIGHT, subscribers: n }),
    (run) => `p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, lost ${run.lost}`,
    ENGINES,
  )
  const of = (engine, key) => median(results.get(`${engine}@${LIGHT.subscribers}`).map((run) => run[key]))
  const sqliteP50 = of("hub-sqlite", "p50")
  printTable(
    `One node at light load: publish→receive latency, ${LIGHT.subscribers} subscribers, ${LIGHT.rate} events/s for ${LIGHT.durationMs / 1000} s (median of ${RUNS} runs)`,
    ["engine", "p50 ms", "p99 ms", "p50 − sqlite's p50, ms", "lost"],
    ENGINES.map((engine) => [
      LABELS[engine],
      of(engine, "p50").toFixed(2),
      of(engine, "p99").toFixed(2),
      engine === "hub-sqlite" ? "—" : (of(engine, "p50") - sqliteP50).toFixed(2),
      String(results.get(`${engine}@${LIGHT.subscribers}`).reduce((sum, run) => sum + run.lost, 0)),
    ]),
  )
  const added = of("hub-redis", "p50") - sqliteP50
  goal(added <= 1, `redis adds ≤ 1 ms to sqlite's p50 at light load (measured: ${added.toFixed(2)} ms)`)
}

async function cluster() {
  const byName = new Map(CLUSTER_SETUPS.map((setup) => [setup.name, setup]))
  const results = await runInterleaved(
    [6000],
    RUNS,
    (name) => measureCluster(redis.url, byName.get(name).nodes, byName.get(name).perNode),
    (run) =>
      `${format(run.rate)} deliveries/s, CPU µs/delivery per node ${run.cpuPerDelivery.map((v) => v.toFixed(2)).join(" / ")}, ` +
      `p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms, Redis bytes/update in ${format(run.redisBytesInPerUpdate)} out ${format(run.redisBytesOutPerUpdate)}`,
    [...byName.keys()],
  )
  const runsOf = (name) => results.get(`${name}@6000`)
  const single = median(runsOf(CLUSTER_SETUPS[1].name).map((run) => run.rate))
  printTable(
    `Several nodes on one Redis: 6,000 subscribers in all, every update to every subscriber (median of ${RUNS} runs)`,
    [
      "setup",
      "deliveries/s, closed loop",
      "÷ one node",
      "CPU µs per delivery, per node",
      "Redis bytes per update, in / out",
      "p50 ms @10/s",
      "p99 ms @10/s",
      "every subscriber got every update",
    ],
    CLUSTER_SETUPS.map(({ name, nodes }) => {
      const runs = runsOf(name)
      const rate = median(runs.map((run) => run.rate))
      const cpu = Array.from({ length: nodes }, (_, i) =>
        median(runs.map((run) => run.cpuPerDelivery[i])).toFixed(2),
      )
      return [
        name,
        format(rate),
        `${(rate / single).toFixed(2)}×`,
        cpu.join(" / "),
        `${format(median(runs.map((run) => run.redisBytesInPerUpdate)))} / ${format(median(runs.map((run) => run.redisBytesOutPerUpdate)))}`,
        ms(median(runs.map((run) => run.p50))),
        ms(median(runs.map((run) => run.p99))),
        `yes, ${runs.length} of ${runs.length} runs (checked per subscriber)`,
      ]
    }),
  )
}

/**
 * What each node adds to Redis's work per update, and what every update costs each node: 1, 2
 * and 3 nodes with a few subscribers each, publishing as fast as they can (Redis is busy, so
 * its idle housekeeping does not weigh on the figures).
 */
async function redisCostByNodes() {
  const results = await runInterleaved(
    [COST.perNode],
    RUNS,
    (nodes, perNode) =>
      measureCluster(redis.url, Number(nodes), perNode, { events: COST.events, paced: false }),
    (run) =>
      `Redis ${run.redisCommandsPerUpdate.toFixed(2)} commands, ${run.redisCpuPerUpdate.toFixed(1)} µs CPU, ` +
      `${format(run.redisBytesInPerUpdate)} bytes in, ${format(run.redisBytesOutPerUpdate)} bytes out per update; ` +
      `node CPU µs per update ${run.cpuPerUpdate.map((v) => v.toFixed(1)).join(" / ")}`,
    COST.nodes,
  )
  const of = (nodes, value) => median(results.get(`${nodes}@${COST.perNode}`).map(value))
  printTable(
    `Redis's work per update as nodes are added (${COST.perNode} subscribers per node, ${format(COST.events)} updates published back to back by the nodes in turn; median of ${RUNS} runs)`,
    [
      "nodes",
      "commands Redis runs per update (sent + in scripts)",
      "Redis main-thread CPU µs per update",
      "Redis bytes per update, in / out",
      "node CPU µs per update (each node)",
    ],
    COST.nodes.map((nodes) => [
      nodes,
      of(nodes, (run) => run.redisCommandsPerUpdate).toFixed(2),
      of(nodes, (run) => run.redisCpuPerUpdate).toFixed(1),
      `${format(of(nodes, (run) => run.redisBytesInPerUpdate))} / ${format(of(nodes, (run) => run.redisBytesOutPerUpdate))}`,
      Array.from({ length: Number(nodes) }, (_, i) =>
        of(nodes, (run) => run.cpuPerUpdate[i]).toFixed(1),
      ).join(" / "),
    ]),
  )
}

async function unmatched() {
  const runs = []
  for (let run = 0; run < RUNS; run++) {
    const result = await measureUnmatched()
    runs.push(result)
    console.error(
      `  run ${run + 1} unmatched: node CPU per update ${result.few.toFixed(1)} µs with ${result.sizes.few}, ` +
        `${result.many.toFixed(1)} µs with ${format(result.sizes.many)} subscribers of another topic: ` +
        `${result.nanosPerSubscriber.toFixed(0)} ns per subscriber`,
    )
  }
  const of = (key) => median(runs.map((run) => run[key]))
  const { few, many } = runs[0].sizes
  printTable(
    `What a subscriber that wants none of the updates costs its node, per update (hub on the redis engine; median of ${RUNS} runs)`,
    [
      `node CPU µs per update, ${few} subscribers of another topic`,
      `the same, ${format(many)} subscribers`,
      "ns per unmatched subscriber per update",
    ],
    [[of("few").toFixed(1), of("many").toFixed(1), of("nanosPerSubscriber").toFixed(0)]],
  )
}

async function failover() {
  const runs = []
  for (let run = 0; run < RUNS; run++) {
    const result = await measureFailover(redis.url)
    runs.push(result)
    console.error(
      `  run ${run + 1} failover: ${result.complete} of ${result.subscribers} complete, caught up p50 ${ms(result.caughtUpP50Ms)} ms, ` +
        `max ${ms(result.caughtUpMaxMs)} ms; resubscribed p50 ${ms(result.resubscribedP50Ms)} ms, max ${ms(result.resubscribedMaxMs)} ms; ` +
        `closes seen by ${ms(result.detectedMaxMs)} ms; duplicates ${result.duplicates}, missing ${result.missing}, ` +
        `publishes failed ${result.publishesFailed}, ` +
        `failed attempts ${result.failedAttempts}, survivors hold ${result.survivorsHold.join(" + ")}`,
    )
  }
  const of = (key) => median(runs.map((run) => run[key]))
  printTable(
    `Failover: kill -9 of a node with 1,000 subscribers while another publishes ${runs[0].rate} updates/s; they resume on the 2 survivors with Last-Event-ID, at once (ms after the kill; median of ${RUNS} runs)`,
    [
      "last close seen",
      "resubscribed, p50",
      "resubscribed, all",
      "caught up, p50",
      "caught up, all",
      "updates replayed (most, one subscriber)",
      "every update exactly once, in order",
      "duplicates",
      "missing",
      "publishes failed",
    ],
    [
      [
        ms(of("detectedMaxMs")),
        ms(of("resubscribedP50Ms")),
        ms(of("resubscribedMaxMs")),
        ms(of("caughtUpP50Ms")),
        ms(of("caughtUpMaxMs")),
        String(Math.max(...runs.map((run) => run.replayedMax))),
        `${runs.reduce((sum, run) => sum + run.complete, 0)} of ${runs.reduce((sum, run) => sum + run.subscribers, 0)} subscribers`,
        String(runs.reduce((sum, run) => sum + run.duplicates, 0)),
        String(runs.reduce((sum, run) => sum + run.missing, 0)),
        String(runs.reduce((sum, run) => sum + run.publishesFailed, 0)),
      ],
    ],
  )
}

/** `{ EVALSHA: 1 }` as "EVALSHA 1". */
function describeCommands(byCommand) {
  return Object.entries(byCommand)
    .sort(([, a], [, b]) => b - a)
    .map(([command, count]) => `${command} ${Number.isInteger(count) ? count : count.toFixed(2)}`)
    .join(", ")
}

async function roundTripCost() {
  const results = await measureRoundTripCost(redis.url, RUNS, (round) =>
    console.log(`  round ${round} of ${RUNS}: ${COMMANDS.length} commands measured`),
  )
  printTable(
    `One command's round trip at a generation's pace: 16 loops × 50 commands/s, 4 s per command, interleaved (median of ${RUNS} rounds)`,
    [
      "command",
      "Redis's time per call µs",
      "Redis main-thread CPU per call µs",
      "round trip p50 ms",
      "p99 ms",
    ],
    results.map((result) => [
      result.name,
      result.usecPerCall.toFixed(1),
      result.cpuPerCall.toFixed(1),
      result.p50.toFixed(2),
      result.p99.toFixed(2),
    ]),
  )
  const [publish, append, xadd] = results
  console.log(
    `\nHerald's append takes ${(append.p50 - publish.p50).toFixed(2)} ms longer than a PUBLISH at p50, for ${(append.usecPerCall - publish.usecPerCall).toFixed(0)} µs more of Redis's time per call; a bare XADD, the least a store can send, ${(xadd.p50 - publish.p50).toFixed(2)} ms longer.`,
  )
}
