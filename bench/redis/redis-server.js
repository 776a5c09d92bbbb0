// The Redis the redis bench measures on: its own redis-server on a spare loopback port, in a
// temp dir, with AOF (`appendfsync everysec`: an acknowledged write survives a crash of the
// Redis process, a power loss may take the last second or two — the durability class of the
// sqlite engine's WAL with `synchronous = NORMAL`), so that other jobs on the shared Redis
// neither disturb nor see the counts. HERALD_BENCH_REDIS_APPENDFSYNC=always fsyncs every write
// (what docs/deployment.md asks for); HERALD_BENCH_REDIS_URL names another Redis instead (its
// durability is its own).
import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"

const START_LIMIT_MS = 10_000
/** `everysec` unless HERALD_BENCH_REDIS_APPENDFSYNC says `always` (or `no`). */
const APPENDFSYNC = process.env.HERALD_BENCH_REDIS_APPENDFSYNC ?? "everysec"

/** A free loopback port (free when asked: the server is started right after). */
export async function sparePort() {
  const probe = createServer().listen(0, "127.0.0.1")
  await once(probe, "listening")
  const { port } = probe.address()
  probe.close()
  await once(probe, "close")
  return port
}

/**
 * Starts a redis-server (or takes HERALD_BENCH_REDIS_URL's). Returns its `url`, a line saying
 * what it is, and `stop()`, which shuts an own server down, removes its directory and resolves
 * with the lines it logged about slow disk writes.
 */
export async function startRedis() {
  const external = process.env.HERALD_BENCH_REDIS_URL
  if (external !== undefined) {
    return {
      url: external,
      description: `${external} (given by HERALD_BENCH_REDIS_URL)`,
      stop: async () => [],
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-redis-"))
  const port = await sparePort()
  const server = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
      ...["--logfile", join(dir, "redis.log")],
      ...["--appendonly", "yes", "--appendfsync", APPENDFSYNC, "--maxmemory-policy", "noeviction"],
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  )
  const url = `redis://127.0.0.1:${port}`
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  // A refused connect while the server starts is expected: it rejects connect(), retried below.
  client.on("error", () => {})
  const started = Date.now()
  let version
  for (;;) {
    try {
      await client.connect()
      version = (await client.info("server")).match(/redis_version:(\S+)/)?.[1]
      break
    } catch (error) {
      if (Date.now() - started > START_LIMIT_MS || server.exitCode !== null) {
        server.kill("SIGKILL")
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`redis-server on port ${port} did not answer: ${error.message}`)
      }
      client.disconnect()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  client.disconnect()
  // A bench that dies takes its Redis with it.
  const killOnExit = () => server.kill("SIGKILL")
  process.once("exit", killOnExit)
  /** Stops the server; returns what it logged of slow disk writes (an AOF fsync taking too long). */
  const stop = async () => {
    process.off("exit", killOnExit)
    if (server.exitCode === null) {
      const exited = once(server, "exit")
      server.kill("SIGTERM")
      const timer = setTimeout(() => server.kill("SIGKILL"), 5000)
      await exited
      clearTimeout(timer)
    }
    const log = readFileSync(join(dir, "redis.log"), "utf8")
    rmSync(dir, { recursive: true, force: true })
    return log.split("\n").filter((line) => /taking too long|slow/i.test(line))
  }
  return {
    url,
    description: `redis-server ${version} of its own on 127.0.0.1:${port}, appendonly yes, appendfsync ${APPENDFSYNC}`,
    stop,
  }
}

/** Deletes every key of the redis engine under `prefix` (its logs' keys and its global ones). */
export async function deleteKeys(url, prefix) {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    for (const pattern of [`{${prefix}:*`, `${prefix}:*`]) {
      let cursor = "0"
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
        if (keys.length > 0) await client.unlink(...keys)
        cursor = next
      } while (cursor !== "0")
    }
  } finally {
    client.disconnect()
  }
}

/**
 * Microseconds of CPU that Redis's main thread (where commands and scripts run) spent between two
 * INFO cpu readings.
 */
export const redisCpuMicros = (before, after) =>
  (Number(after.used_cpu_user_main_thread) +
    Number(after.used_cpu_sys_main_thread) -
    Number(before.used_cpu_user_main_thread) -
    Number(before.used_cpu_sys_main_thread)) *
  1e6

/** INFO `section` of the Redis at `client` as an object of strings. */
export async function info(client, section) {
  const fields = {}
  for (const line of (await client.info(section)).split("\r\n")) {
    const at = line.indexOf(":")
    if (at > 0 && !line.startsWith("#")) fields[line.slice(0, at)] = line.slice(at + 1)
  }
  return fields
}

/**
 * Runs `work` between two INFO stats readings of the Redis at `client`; returns what it
 * resolved to and `delta(field)`, the change of a counter (e.g. total_net_output_bytes) less
 * what one INFO stats itself adds (its reply is counted in the second reading).
 */
export async function statsAround(client, work) {
  const before = await info(client, "stats")
  const result = await work()
  const after = await info(client, "stats")
  const again = await info(client, "stats")
  const delta = (field) =>
    Number(after[field]) - Number(before[field]) - (Number(again[field]) - Number(after[field]))
  return { result, delta }
}
