// Starts a server process and load-client processes, and talks to them over IPC.
import { fork } from "node:child_process"
import { once } from "node:events"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/** The contenders, in table order. */
import { cpuMicrosBetween, median } from "../stats.js"

export { median }

export const CONTENDERS = ["herald", "better-sse", "plain"]

/** Where a hub's subscribers connect (the hub contenders' events have the topic `bench`). */
export const HUB_SUBSCRIBE_PATH = "/.well-known/mercure?match=bench"
/** Where each contender's subscribers connect (default `/events`). */
const SUBSCRIBE_PATHS = {
  hub: HUB_SUBSCRIBE_PATH,
  "hub-sqlite": HUB_SUBSCRIBE_PATH,
  "hub-redis": HUB_SUBSCRIBE_PATH,
}
/** The contenders whose subscribers speak WebSocket (client.js's frame reader) instead of SSE. */
const WEBSOCKET_CONTENDERS = new Set(["ws", "ws-buffer"])

/**
 * A child process answering one IPC request at a time: `script` is a path relative to
 * bench/server/ (or absolute). `kill()` ends it with SIGKILL at once, as a crash would.
 */
export async function startChild(script, args, { execArgv = [], env = process.env } = {}) {
  const child = fork(resolve(here, script), args, {
    execArgv,
    env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  })
  /** The next message of `type` (any, when undefined); rejects if the child exits first. */
  const reply = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (type !== undefined && message.type !== type) return
        settle()
        resolve(message)
      }
      const onExit = (code, signal) => {
        settle()
        reject(new Error(`${script} exited (${signal ?? code}) before it answered ${type ?? "ready"}`))
      }
      const settle = () => {
        child.off("message", onMessage)
        child.off("exit", onExit)
      }
      child.on("message", onMessage)
      child.once("exit", onExit)
    })
  const ready = await reply(undefined)
  const request = (cmd, payload = {}) => {
    const answered = reply(cmd)
    child.send({ cmd, ...payload })
    return answered
  }
  const gone = () => child.exitCode !== null || child.signalCode !== null
  const stop = async () => {
    if (gone()) return
    const exited = once(child, "exit")
    child.send({ cmd: "exit" })
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    await exited
    clearTimeout(timer)
  }
  const kill = async () => {
    if (gone()) return
    const exited = once(child, "exit")
    child.kill("SIGKILL")
    await exited
  }
  return { ready, request, stop, kill }
}

/**
 * Starts `contender`'s server and `clientProcesses` load clients sharing `n` connections to
 * `path` (default: the contender's), and waits until the server counts all `n` subscribers.
 */
export async function startCell(contender, n, clientProcesses = 1, path = SUBSCRIBE_PATHS[contender]) {
  const server = await startChild("server.js", [contender], { execArgv: ["--expose-gc"] })
  const port = server.ready.port
  const baseline = await server.request("rss")
  const clients = await Promise.all(
    Array.from({ length: clientProcesses }, () => startChild("client.js", [])),
  )
  const share = Math.ceil(n / clientProcesses)
  const opened = await Promise.all(
    clients.map((client, index) =>
      client.request("connect", {
        port,
        n: Math.min(share, n - index * share),
        path: path ?? "/events",
        protocol: WEBSOCKET_CONTENDERS.has(contender) ? "websocket" : "sse",
      }),
    ),
  )
  const failed = opened.reduce((sum, result) => sum + result.failed, 0)
  const deadline = Date.now() + 20_000
  let count = 0
  while (Date.now() < deadline) {
    count = (await server.request("count")).count
    if (count >= n) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  if (count < n) {
    throw new Error(`${contender}: only ${count} of ${n} subscribers connected (${failed} connects failed)`)
  }
  const all = (cmd, payload) => Promise.all(clients.map((client) => client.request(cmd, payload)))
  return {
    server,
    baseline,
    clients: { all },
    stop: async () => {
      await Promise.all(clients.map((client) => client.stop()))
      await server.stop()
    },
  }
}

/**
 * Measures every contender at every size, RUNS times, interleaving the contenders inside each run
 * so a noisy spell on the shared machine hits all of them alike. Returns the results keyed
 * `${contender}@${n}`; `describe(result)` is the progress line for one run.
 */
export async function runInterleaved(sizes, runs, measure, describe, contenders = CONTENDERS) {
  const results = new Map()
  for (const n of sizes) {
    for (let run = 0; run < runs; run++) {
      for (const contender of contenders) {
        const result = await measure(contender, n)
        const key = `${contender}@${n}`
        if (!results.has(key)) results.set(key, [])
        results.get(key).push(result)
        console.error(`  run ${run + 1} ${contender} n=${n}: ${describe(result)}`)
      }
    }
  }
  return results
}

/**
 * The server's RSS and JS heap per connection, after a full GC, for a cell whose `n` connections
 * are idle: minus the figures from before the first connection, ÷ n.
 */
export async function idleMemoryPerConnection(cell, n) {
  // Lets the last handshakes' garbage and socket buffers settle before the GC.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const idle = await cell.server.request("rss")
  return {
    rssPerConnection: (idle.rss - cell.baseline.rss) / n,
    heapPerConnection: (idle.heapUsed - cell.baseline.heapUsed) / n,
  }
}

const CLOSED_LOOP_DELIVERIES = 200_000
const OPEN_LOOP_DELIVERIES = 1_000_000
const OPEN_LOOP_OFFERED = 10_000_000
export const PACED_RATE = 10
const PACED_MS = 3000

/**
 * One fan-out cell: `contender` serving `n` subscribers, measured three ways — closed loop (one
 * event per turn), open loop (events offered at 10M deliveries/s, those due in a turn published
 * together), and latency at 10 events/s — plus the server's CPU per delivery. With `idleMemory`,
 * the server's memory per connection is read first, while the connections are still idle.
 *
 * Each throughput phase also reports how busy the server and the load client were (CPU time ÷
 * the phase's wall time, 1 = one core): a server near 1 and a client well below it show that the
 * server, not the client, set the rate.
 */
export async function measureFanout(contender, n, { idleMemory = false } = {}) {
  const cell = await startCell(contender, n)
  try {
    const memory = idleMemory ? await idleMemoryPerConnection(cell, n) : {}
    const throughput = async (command, deliveries, extra = {}) => {
      const events = Math.ceil(deliveries / n)
      await cell.clients.all("reset", { measureLatency: false })
      const cpuBefore = await cell.server.request("cpu")
      const clientCpuBefore = await cell.clients.all("cpu")
      const published = await cell.server.request(command, { events, ...extra })
      const [received] = await cell.clients.all("wait", { expected: n * events, timeoutMs: 60_000 })
      const cpuAfter = await cell.server.request("cpu")
      const clientCpuAfter = await cell.clients.all("cpu")
      const cpuMicros = cpuMicrosBetween(cpuBefore, cpuAfter)
      const clientCpuMicros = clientCpuAfter.reduce(
        (sum, after, index) => sum + cpuMicrosBetween(clientCpuBefore[index], after),
        0,
      )
      const wallMicros = received.lastDeliveryAt - published.startedAt
      return {
        rate: received.delivered / (wallMicros / 1e6),
        cpuPerDelivery: cpuMicros / received.delivered,
        serverLoad: cpuMicros / wallMicros,
        clientLoad: clientCpuMicros / wallMicros,
        lost: n * events - received.delivered,
      }
    }
    const closed = await throughput("burst", CLOSED_LOOP_DELIVERIES)
    const open = await throughput("offered", OPEN_LOOP_DELIVERIES, { rate: OPEN_LOOP_OFFERED / n })

    await cell.clients.all("reset", { measureLatency: true })
    const paced = await cell.server.request("paced", { rate: PACED_RATE, durationMs: PACED_MS })
    const [latency] = await cell.clients.all("wait", { expected: n * paced.sent, timeoutMs: 30_000 })
    return {
      ...memory,
      closed: closed.rate,
      closedCpu: closed.cpuPerDelivery,
      closedServerLoad: closed.serverLoad,
      closedClientLoad: closed.clientLoad,
      open: open.rate,
      openCpu: open.cpuPerDelivery,
      openServerLoad: open.serverLoad,
      openClientLoad: open.clientLoad,
      lost: closed.lost + open.lost + (n * paced.sent - latency.delivered),
      p50: latency.p50,
      p99: latency.p99,
    }
  } finally {
    await cell.stop()
  }
}

/** The progress line for one fan-out run (`measureFanout`'s result). */
export function describeFanoutRun(result) {
  return (
    `closed ${Math.round(result.closed)} / open ${Math.round(result.open)} deliveries/s, ` +
    `server CPU ${result.closedCpu.toFixed(2)} µs/delivery, ` +
    `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, lost ${result.lost}; ` +
    `busy (cores) closed server ${result.closedServerLoad.toFixed(2)} client ${result.closedClientLoad.toFixed(2)}, ` +
    `open server ${result.openServerLoad.toFixed(2)} client ${result.openClientLoad.toFixed(2)}` +
    (result.rssPerConnection === undefined ? "" : `; idle ${describeMemory(result)}`)
  )
}

/** One run's memory per idle connection, for a progress line. */
export function describeMemory(result) {
  return (
    `${(result.rssPerConnection / 1024).toFixed(2)} KiB RSS, ` +
    `${(result.heapPerConnection / 1024).toFixed(2)} KiB heap per connection`
  )
}

/**
 * Prints the memory-per-idle-connection table in Markdown: per size and contender, the medians
 * of RSS and JS heap per connection, and the RSS ratio `reference` ÷ contender (below 1: the
 * reference uses less).
 */
export function printMemoryTable({ title, results, sizes, contenders, reference, labels = {} }) {
  const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`
  const medianOf = (runs, key) => median(runs.map((run) => run[key]))
  console.log(`\n### ${title}\n`)
  console.log(
    "| connections | contender | RSS per connection | JS heap per connection | Herald ÷ contender (RSS) |",
  )
  console.log("|---:|---|---:|---:|---:|")
  for (const n of sizes) {
    const base = medianOf(results.get(`${reference}@${n}`), "rssPerConnection")
    for (const contender of contenders) {
      const runs = results.get(`${contender}@${n}`)
      const rss = medianOf(runs, "rssPerConnection")
      const ratio = contender === reference ? "—" : (base / rss).toFixed(2)
      const cells = [n.toLocaleString("en-US"), labels[contender] ?? contender, kib(rss)]
      cells.push(kib(medianOf(runs, "heapPerConnection")), ratio)
      console.log(`| ${cells.join(" | ")} |`)
    }
  }
}

/**
 * Prints a fan-out table in Markdown: per size and contender, the medians of the closed- and
 * open-loop deliveries/s with their ratios, p50/p99 at the paced rate, and the losses.
 *
 * @param {object} table
 * @param {string} table.title
 * @param {Map<string, object[]>} table.results what runInterleaved returned
 * @param {number[]} table.sizes
 * @param {string[]} table.contenders
 * @param {string} table.reference the contender the ratios are taken against (its own cells read "—")
 * @param {string} table.ratioHeader e.g. "Herald ÷"
 * @param {(reference: number, contender: number) => number} table.ratio
 * @param {Record<string, string>} [table.labels] display names; the contender's key by default
 * @param {{ header: string, value: (runs: object[], referenceRuns: object[]) => string }[]} [table.extraColumns]
 *   after the closed-loop ratio; `value` gets the contender's runs and the reference's, at one size
 */
export function printFanoutTable({
  title,
  results,
  sizes,
  contenders,
  reference,
  ratioHeader,
  ratio,
  labels = {},
  extraColumns = [],
}) {
  const format = (value) => Math.round(value).toLocaleString("en-US")
  const medianOf = (runs, key) => median(runs.map((run) => run[key]))
  const headers = [
    "subscribers",
    "contender",
    "deliveries/s, closed loop",
    ratioHeader,
    ...extraColumns.map((column) => column.header),
    "deliveries/s, open loop",
    ratioHeader,
    `p50 ms @${PACED_RATE}/s`,
    `p99 ms @${PACED_RATE}/s`,
    "lost",
  ]
  console.log(`\n### ${title}\n`)
  console.log(`| ${headers.join(" | ")} |`)
  console.log(`|${headers.map((_, index) => (index === 1 ? "---" : "---:")).join("|")}|`)
  for (const n of sizes) {
    const base = results.get(`${reference}@${n}`)
    for (const contender of contenders) {
      const runs = results.get(`${contender}@${n}`)
      const versus = (key) =>
        contender === reference ? "—" : `${ratio(medianOf(base, key), medianOf(runs, key)).toFixed(2)}×`
      const cells = [
        format(n),
        labels[contender] ?? contender,
        format(medianOf(runs, "closed")),
        versus("closed"),
        ...extraColumns.map((column) => column.value(runs, base)),
        format(medianOf(runs, "open")),
        versus("open"),
        medianOf(runs, "p50").toFixed(1),
        medianOf(runs, "p99").toFixed(1),
        String(runs.reduce((sum, run) => sum + run.lost, 0)),
      ]
      console.log(`| ${cells.join(" | ")} |`)
    }
  }
}
