// Part 3 of the AI bench: many concurrent generations of the demo model on one node (Herald,
// models `demo30`: no time to first token, 30 tokens/s), or the same answers made in process by
// resumable-stream's server through createNewResumableStream. Per cell, on a fresh server: a
// few generations (the tokenizer and the code load), the idle reading, then two rounds of
// `count` generations opened at once by the load client. The first round finds the server cold
// (its code not yet optimized: it measures the compiler too) and gives the memory per open
// generation: the server's largest RSS during it minus idle, ÷ the most streams open at once, and
// its JS heap once every head came minus idle, ÷ those still open then (no GC forced, as
// Herald's heap is read from its /metrics). The second round gives token lateness p50/p99
// (bench/ai/load-client.js) and the CPU share of one core of the server, redis-server and the
// load client from its first request to its last end (/proc), and the server's CPU per token.
// Both rounds: every text exact and every stream ended with [DONE]; connections the kernel dropped from a full listen
// queue while the generations were opened (the machine's count).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { deleteKeys, info } from "../redis/redis-server.js"
import { startChild } from "../server/harness.js"
import { startHeraldNode } from "./herald-node.js"
import { listenOverflows } from "./listen-drops.js"
import { rssBytes, sampleProcesses } from "./process-stats.js"

const SAMPLE_MS = 100
/** Generations run before the idle memory reading. */
const PRIMING = 20
let cells = 0

/** Herald's JS heap in use, from its /metrics (prom-client's default metrics). */
async function heraldHeap(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return Number(/^herald_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1])
}

/** Starts the server of `contender` (herald-sqlite, herald-redis, resumable); resolves with what the cell reads of it. */
async function startServer(contender, { redisUrl, dir, prefix, flags }) {
  if (contender === "resumable") {
    const server = await startChild("../ai/resumable-server.js", [redisUrl, prefix, "0"])
    return {
      port: server.ready.port,
      pid: server.ready.pid,
      heap: async () => (await server.request("memory")).heapUsed,
      stop: () => server.stop(),
    }
  }
  const modelsFile = join(dir, "models.json")
  writeFileSync(
    modelsFile,
    JSON.stringify({
      demo30: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 30, words: WORDS },
    }),
  )
  const onRedis = contender === "herald-redis"
  const node = await startHeraldNode({
    engine: onRedis ? redisUrl : "sqlite",
    dataDir: join(dir, "data"),
    modelsFile,
    nodeId: `bench-${contender}`,
    flags: onRedis ? [...flags, "--redis-key-prefix", prefix] : flags,
  })
  return { ...node, heap: () => heraldHeap(node.port) }
}

/** About this many words per answer: 100 to 150 tokens. */
export const WORDS = 100
const PROMPTS = Array.from({ length: 10 }, (_, i) => `Tell me about streaming tokens, question ${i + 1}`)

/** One cell: `count` generations on `contender`; `flags` are more `herald serve` flags. */
export async function measureThousand(contender, { redisUrl, count, flags = [] }) {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-ai-"))
  const prefix = `herald-bench-ai-load-${process.pid}-${++cells}`
  const redis = new Redis(redisUrl)
  const server = await startServer(contender, { redisUrl, dir, prefix, flags })
  const client = await startChild("../ai/load-client.js", [])
  try {
    const load = {
      port: server.port,
      kind: contender === "resumable" ? "resumable" : "herald",
      prompts: PROMPTS,
      words: WORDS,
      tokensPerSecond: 30,
    }
    // The tokenizer and the code paths load before the idle reading.
    await client.request("start", { ...load, count: PRIMING })
    await client.request("finish")
    const before = { rss: rssBytes(server.pid), heap: await server.heap() }
    const redisPid = Number((await info(redis, "server")).process_id)
    const sampler = sampleProcesses(
      { server: server.pid, redis: redisPid, client: client.ready.pid },
      SAMPLE_MS,
    )
    const round = async () => {
      const overflowsBefore = listenOverflows()
      const started = await client.request("start", { ...load, count })
      const listenDrops = listenOverflows() - overflowsBefore
      const heap = await server.heap()
      const finished = await client.request("finish")
      return { started, finished, listenDrops, heap }
    }
    const cold = await round()
    const { started, finished, listenDrops } = await round()
    sampler.stop()
    const [from, to] = [started.startedAt, finished.lastEndAt]
    return {
      ...finished,
      complete: cold.finished.complete + finished.complete,
      streams: 2 * count,
      refused: cold.started.refused + started.refused,
      listenDrops: cold.listenDrops + listenDrops,
      rampMs: started.streamingAt - started.startedAt,
      coldRampMs: cold.started.streamingAt - cold.started.startedAt,
      coldPeakOpen: cold.finished.peakOpen,
      cpu: Object.fromEntries(
        ["server", "redis", "client"].map((name) => [name, sampler.cpuShare(name, from, to)]),
      ),
      /** The server's CPU per token delivered, in µs. */
      serverCpuPerToken: (sampler.cpuShare("server", from, to) * (to - from) * 1000) / finished.tokens,
      rssPerGeneration:
        (sampler.rssMax("server", cold.started.startedAt, cold.finished.lastEndAt) - before.rss) /
        cold.finished.peakOpen,
      heapPerGeneration: (cold.heap - before.heap) / cold.started.openAtStreaming,
    }
  } finally {
    await client.stop()
    await server.stop()
    redis.disconnect()
    await deleteKeys(redisUrl, prefix)
    rmSync(dir, { recursive: true, force: true })
  }
}
