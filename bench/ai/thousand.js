// Part 3 of the AI bench: many concurrent generations of the demo model on one node (Herald,
// models `demo30`: no time to first token, 30 tokens/s), or the same answers made in process by
// resumable-stream's server through createNewResumableStream. Per cell: a warm-up (the tokenizer
// loads, the code is compiled), then `count` generations opened by the load client (at most 256
// waiting for their head). Measured: token lateness p50/p99 (bench/ai/load-client.js); the CPU
// share of one core of the server, redis-server and the load client over the load, from the
// first request to the last end (/proc), and over the steady part (every head came, none ended)
// when there is one; the most streams open at once; memory per open generation: the server's
// largest RSS during the load minus after the warm-up, ÷ the most open at once, and its JS heap
// once every head came minus after the warm-up, ÷ those still open then (no GC forced in either,
// as Herald's heap is read from its /metrics); every text exact and every stream ended with
// [DONE]; connections the kernel dropped from a full listen
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
const WARM_UP = 50
let cells = 0

/** Herald's JS heap in use, from its /metrics (prom-client's default metrics). */
async function heraldHeap(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return Number(/^herald_process_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1])
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
    await client.request("start", { ...load, count: WARM_UP })
    const warm = await client.request("finish")
    if (warm.exact !== WARM_UP)
      throw new Error(`${contender}: the warm-up got ${JSON.stringify(warm.statuses)}`)
    const before = { rss: rssBytes(server.pid), heap: await server.heap() }
    const redisPid = Number((await info(redis, "server")).process_id)
    const sampler = sampleProcesses(
      { server: server.pid, redis: redisPid, client: client.ready.pid },
      SAMPLE_MS,
    )
    const overflowsBefore = listenOverflows()
    const started = await client.request("start", { ...load, count })
    const listenDrops = listenOverflows() - overflowsBefore
    const heapDuring = await server.heap()
    const finished = await client.request("finish")
    sampler.stop()
    const cpuBetween = (from, to) =>
      Object.fromEntries(
        ["server", "redis", "client"].map((name) => [name, sampler.cpuShare(name, from, to)]),
      )
    const steadyMs = finished.firstEndAt - started.streamingAt
    return {
      ...finished,
      refused: started.refused,
      listenDrops,
      rampMs: started.streamingAt - started.startedAt,
      loadMs: finished.lastEndAt - started.startedAt,
      steadyMs,
      cpu: cpuBetween(started.startedAt, finished.lastEndAt),
      steadyCpu: steadyMs > 5 * SAMPLE_MS ? cpuBetween(started.streamingAt, finished.firstEndAt) : undefined,
      rssPerGeneration:
        (sampler.rssMax("server", started.startedAt, finished.lastEndAt) - before.rss) / finished.peakOpen,
      heapPerGeneration: (heapDuring - before.heap) / started.openAtStreaming,
    }
  } finally {
    await client.stop()
    await server.stop()
    redis.disconnect()
    await deleteKeys(redisUrl, prefix)
    rmSync(dir, { recursive: true, force: true })
  }
}
