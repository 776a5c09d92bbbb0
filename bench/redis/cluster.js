// Several hub nodes on one Redis, the same hub log, each with its own subscribers (held by one
// load-client process): every update published on any node reaches every subscriber of every
// node. Measured per cell: the closed loop (each node publishes its share of the events, one at
// a time, each awaited: stored and handed to its own subscribers), with every node's CPU per
// delivery and Redis's bytes and CPU per update; then publish→receive latency at PACED_RATE events/s
// in all, published by every node in turn.
import { Redis } from "ioredis"
import { HUB_SUBSCRIBE_PATH, PACED_RATE, startChild } from "../server/harness.js"
import { cpuMicrosBetween } from "../stats.js"
import { deleteKeys, info, redisCpuMicros, statsAround } from "./redis-server.js"

const CLOSED_LOOP_DELIVERIES = Number(process.env.HERALD_BENCH_CLUSTER_DELIVERIES ?? 600_000)
const PACED_MS = 3000
const CONNECT_LIMIT_MS = 30_000
let cells = 0

/** Starts `nodes` hub-redis nodes under one key prefix, with `perNode` subscribers each. */
async function startCluster(url, nodes, perNode) {
  const prefix = `herald-bench-cluster-${process.pid}-${++cells}`
  const env = { ...process.env, HERALD_BENCH_REDIS_URL: url, HERALD_BENCH_REDIS_PREFIX: prefix }
  const tags = "abcdefghij".slice(0, nodes).split("")
  const servers = await Promise.all(
    tags.map((tag) => startChild("server.js", ["hub-redis", tag], { execArgv: ["--expose-gc"], env })),
  )
  const client = await startChild("client.js", [])
  const stop = async () => {
    await client.stop()
    await Promise.all(servers.map((server) => server.stop()))
    await deleteKeys(url, prefix)
  }
  try {
    for (const server of servers) {
      await client.request("connect", { port: server.ready.port, n: perNode, path: HUB_SUBSCRIBE_PATH })
    }
    const deadline = Date.now() + CONNECT_LIMIT_MS
    for (const server of servers) {
      while ((await server.request("count")).count < perNode) {
        if (Date.now() > deadline) throw new Error(`a node has fewer than ${perNode} subscribers`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { servers, client, stop }
}

/** Splits `total` into `parts` shares as equal as they can be. */
const shares = (total, parts) =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

/** Commands Redis ran (those sent and those scripts ran), from INFO commandstats. */
const commandsRun = (stats) =>
  Object.values(stats).reduce((sum, value) => sum + Number(/calls=(\d+)/.exec(value)?.[1] ?? 0), 0)

/**
 * One cell: `nodes` nodes × `perNode` subscribers on the Redis at `url`; the closed loop
 * publishes `events` events in all (default: CLOSED_LOOP_DELIVERIES' worth), then, with
 * `paced`, the latency phase runs. Throws unless every subscriber received every update
 * exactly once per update published.
 */
export async function measureCluster(url, nodes, perNode, options = {}) {
  const cell = await startCluster(url, nodes, perNode)
  const redis = new Redis(url)
  const subscribers = nodes * perNode
  const check = (received, events, phase) => {
    if (received.fewestPerConnection !== events || received.mostPerConnection !== events) {
      throw new Error(
        `${nodes}×${perNode} ${phase}: a subscriber received ${received.fewestPerConnection}–${received.mostPerConnection} of ${events} updates`,
      )
    }
  }
  try {
    const { servers, client } = cell
    const events = options.events ?? Math.ceil(CLOSED_LOOP_DELIVERIES / subscribers)
    // Warm-up: each node appends once (Redis caches the append script; the code paths are hot).
    await client.request("reset", { measureLatency: false })
    await Promise.all(servers.map((server) => server.request("burst", { events: 1 })))
    check(
      await client.request("wait", { expected: subscribers * nodes, timeoutMs: 30_000 }),
      nodes,
      "warm-up",
    )
    await client.request("reset", { measureLatency: false })
    const cpuBefore = await Promise.all(servers.map((server) => server.request("cpu")))
    const redisCpuBefore = await info(redis, "cpu")
    const commandsBefore = await info(redis, "commandstats")
    const { result, delta } = await statsAround(redis, async () => {
      const bursts = await Promise.all(
        shares(events, nodes).map((share, i) => servers[i].request("burst", { events: share })),
      )
      const received = await client.request("wait", { expected: subscribers * events, timeoutMs: 120_000 })
      return { bursts, received }
    })
    const { bursts, received } = result
    const commandsAfter = await info(redis, "commandstats")
    const redisCpuAfter = await info(redis, "cpu")
    const cpuAfter = await Promise.all(servers.map((server) => server.request("cpu")))
    check(received, events, "closed loop")
    const startedAt = Math.min(...bursts.map((burst) => burst.startedAt))
    const perUpdate = (key) => delta(key) / events
    const closedLoop = {
      events,
      rate: received.delivered / ((received.lastDeliveryAt - startedAt) / 1e6),
      cpuPerUpdate: cpuBefore.map((before, i) => cpuMicrosBetween(before, cpuAfter[i]) / events),
      cpuPerDelivery: cpuBefore.map(
        (before, i) => cpuMicrosBetween(before, cpuAfter[i]) / (perNode * events),
      ),
      redisBytesInPerUpdate: perUpdate("total_net_input_bytes"),
      redisBytesOutPerUpdate: perUpdate("total_net_output_bytes"),
      redisCpuPerUpdate: redisCpuMicros(redisCpuBefore, redisCpuAfter) / events,
      redisCommandsPerUpdate: (commandsRun(commandsAfter) - commandsRun(commandsBefore)) / events,
    }
    if (options.paced === false) return closedLoop

    await client.request("reset", { measureLatency: true })
    const paced = await Promise.all(
      servers.map((server) => server.request("paced", { rate: PACED_RATE / nodes, durationMs: PACED_MS })),
    )
    const sent = paced.reduce((sum, run) => sum + run.sent, 0)
    const latency = await client.request("wait", { expected: subscribers * sent, timeoutMs: 60_000 })
    check(latency, sent, "paced")
    return { ...closedLoop, p50: latency.p50, p99: latency.p99 }
  } finally {
    redis.disconnect()
    await cell.stop()
  }
}
