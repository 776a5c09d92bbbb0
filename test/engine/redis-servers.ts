// Real Redis processes for the redis engine's tests: the shared server on 127.0.0.1:6379, spare
// servers on free loopback ports (killed and restarted by the tests), a 3-master Cluster, and a
// TCP proxy whose connections can go silent without closing.
// Every wait is bounded; every process started here is stopped by its own pid.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { connect, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Redis } from "ioredis"

const run = promisify(execFile)

/** The shared Redis the unit tests use (`.ci/run` starts it). */
export const SHARED_REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

/** Under HERALD_TEST_STRICT=1 (CI) a missing Redis fails the run instead of skipping. */
export const STRICT = process.env.HERALD_TEST_STRICT === "1"

/** Whether a Redis answers PING at `url` within `ms`. */
export async function redisAnswers(url: string, ms = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: ms,
    maxRetriesPerRequest: 0,
  })
  client.on("error", () => {})
  try {
    await client.connect()
    return (await client.ping()) === "PONG"
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Whether redis-server can be started here. */
export async function redisServerInstalled(): Promise<boolean> {
  try {
    await run("redis-server", ["--version"])
    return true
  } catch {
    return false
  }
}

/** A free loopback port (the OS picks one; a small race with other processes is accepted). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === "string") throw new Error("no port")
  return address.port
}

/** Polls `check` every 50 ms until it holds; fails after `ms`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The `INFO replication` section of the Redis at `url`. */
export async function infoReplication(url: string): Promise<string> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 })
  client.on("error", () => {})
  try {
    return (await client.info("replication")) as string
  } finally {
    client.disconnect()
  }
}

const offsetOf = (info: string) => Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? Number.NaN)

/** Waits until the replica at `replicaUrl` has all that the master at `masterUrl` has written so far. */
export async function replicaCaughtUp(masterUrl: string, replicaUrl: string): Promise<void> {
  const written = offsetOf(await infoReplication(masterUrl))
  await waitFor(async () => offsetOf(await infoReplication(replicaUrl)) >= written, "the replica to catch up")
}

/** A TCP proxy made by {@link blackHoleProxy}. */
export interface BlackHoleProxy {
  readonly port: number
  readonly url: string
  /** Connections made so far. */
  connections(): number
  /**
   * Silences the connections made so far, or those whose client's first bytes `which` picks
   * (ioredis names a connection there: `CLIENT SETNAME ioredis-cluster(ssubscriber)`): nothing
   * passes either way any more, and they stay open. Connections made later pass.
   */
  blackHole(which?: (sent: string) => boolean): void
  /** Closes every connection made so far. */
  cut(): void
  close(): void
}

/**
 * A TCP proxy to the Redis on `port` whose connections can go silent without closing (a NAT or
 * load balancer that dropped their state, a frozen peer).
 */
export async function blackHoleProxy(port: number): Promise<BlackHoleProxy> {
  const pairs: { readonly sockets: readonly Socket[]; sent: string; silent: boolean }[] = []
  const proxy = createServer((client) => {
    const upstream = connect(port, "127.0.0.1")
    const pair = { sockets: [client, upstream], sent: "", silent: false }
    pairs.push(pair)
    client.on("data", (data: Buffer) => {
      if (pair.sent.length < 1024) pair.sent += data.toString("latin1")
      if (!pair.silent) upstream.write(data)
    })
    upstream.on("data", (data) => pair.silent || client.write(data))
    for (const socket of pair.sockets) {
      socket.on("error", () => {})
      socket.on("close", () => {
        client.destroy()
        upstream.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
  const address = proxy.address()
  if (address === null || typeof address === "string") throw new Error("no port")
  return {
    port: address.port,
    url: `redis://127.0.0.1:${address.port}`,
    connections: () => pairs.length,
    blackHole(which = () => true) {
      for (const pair of pairs) if (which(pair.sent)) pair.silent = true
    },
    cut() {
      for (const pair of pairs) for (const socket of pair.sockets) socket.destroy()
    },
    close() {
      proxy.close()
      for (const pair of pairs) for (const socket of pair.sockets) socket.destroy()
    },
  }
}

/** A redis-server this test started. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly dir: string
  /** Starts it again on the same port and directory (with what its AOF kept, if any). */
  start(): Promise<void>
  /** Kills it (SIGKILL by default: no shutdown save) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Stops it and removes its directory. */
  destroy(): Promise<void>
}

/** Starts a redis-server on a free loopback port; `aof`: append-only file, fsync on every write. */
export async function startRedis(
  options: { aof?: boolean; args?: readonly string[]; port?: number } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), "herald-redis-"))
  const url = `redis://127.0.0.1:${port}`
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--dir",
    dir,
    "--appendonly",
    options.aof === true ? "yes" : "no",
    "--appendfsync",
    "always",
    ...(options.args ?? []),
  ]
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url,
    dir,
    async start() {
      child = spawn("redis-server", args, { stdio: "ignore" })
      await waitFor(() => redisAnswers(url, 200), `redis-server on port ${port}`)
    },
    async stop(signal = "SIGKILL") {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
      const exited = new Promise((resolve) => running.once("exit", resolve))
      running.kill(signal)
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
    },
    async destroy() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

/** A Redis Cluster of masters this test started. */
export interface RedisCluster {
  /** Where clients reach its masters (through {@link proxies} when there are some). */
  readonly nodes: readonly { host: string; port: number }[]
  readonly servers: readonly RedisServer[]
  /** With `proxied`: one per master, in the order of {@link servers}. */
  readonly proxies: readonly BlackHoleProxy[]
  destroy(): Promise<void>
}

/**
 * Starts `masters` cluster-enabled servers and joins them into one Cluster (no replicas);
 * `proxied`: each master announces a {@link blackHoleProxy} in front of it as its address, so
 * that every client connection passes through one (the masters talk to each other directly).
 */
export async function startCluster(masters = 3, options: { proxied?: boolean } = {}): Promise<RedisCluster> {
  const servers: RedisServer[] = []
  const proxies: BlackHoleProxy[] = []
  const destroy = async () => {
    for (const proxy of proxies) proxy.close()
    await Promise.all(servers.map((server) => server.destroy()))
  }
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      const announced: string[] = []
      if (options.proxied === true) {
        const proxy = await blackHoleProxy(port)
        proxies.push(proxy)
        announced.push("--cluster-announce-port", String(proxy.port))
        announced.push("--cluster-announce-bus-port", String(port + 10_000))
      }
      servers.push(
        await startRedis({
          port,
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${i}.conf`,
            "--cluster-node-timeout",
            "5000",
            ...announced,
          ],
        }),
      )
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`)
    await run(
      "redis-cli",
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      {
        timeout: 30_000,
      },
    )
    for (const server of servers) {
      await waitFor(async () => {
        const client = new Redis(server.url, { maxRetriesPerRequest: 0 })
        client.on("error", () => {})
        try {
          const info = (await client.call("CLUSTER", "INFO")) as string
          return info.includes("cluster_state:ok")
        } catch {
          return false
        } finally {
          client.disconnect()
        }
      }, `cluster state ok on port ${server.port}`)
    }
  } catch (error) {
    await destroy()
    throw error
  }
  const clientPorts =
    options.proxied === true ? proxies.map((proxy) => proxy.port) : servers.map((server) => server.port)
  return { nodes: clientPorts.map((port) => ({ host: "127.0.0.1", port })), servers, proxies, destroy }
}

/** A master, its replica and a Sentinel watching them, all started by this test. */
export interface RedisSentinelSet {
  /** The master's name the Sentinel knows. */
  readonly name: string
  readonly sentinel: { readonly host: string; readonly port: number }
  readonly master: RedisServer
  readonly replica: RedisServer
  /** Where the Sentinel says the master is now. */
  masterPort(): Promise<number>
  destroy(): Promise<void>
}

/**
 * Starts a master, a replica of it and one Sentinel (quorum 1, so that `SENTINEL FAILOVER` needs
 * no other) watching them as `name`; resolves once the Sentinel knows the replica, which a
 * failover needs.
 */
export async function startSentinelSet(name = "herald"): Promise<RedisSentinelSet> {
  const started: RedisServer[] = []
  try {
    const master = await startRedis()
    started.push(master)
    const replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] })
    started.push(replica)
    const sentinel = await startSentinel(name, master, replica)
    return {
      name,
      sentinel: sentinel.address,
      master,
      replica,
      masterPort: sentinel.masterPort,
      destroy: async () => {
        await sentinel.stop()
        await Promise.all(started.map((server) => server.destroy()))
      },
    }
  } catch (error) {
    await Promise.all(started.map((server) => server.destroy()))
    throw error
  }
}

/** A Sentinel watching `master` as `name`, once it knows `replica`; stopped again if it fails to. */
async function startSentinel(name: string, master: RedisServer, replica: RedisServer) {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "herald-sentinel-"))
  // A Sentinel rewrites its configuration file: it must have one of its own.
  const config = join(dir, "sentinel.conf")
  writeFileSync(
    config,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 10000`,
      "",
    ].join("\n"),
  )
  const child = spawn("redis-server", [config, "--sentinel"], { stdio: "ignore" })
  const admin = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 0, lazyConnect: true })
  admin.on("error", () => {})
  const stop = async () => {
    admin.disconnect()
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGKILL")
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const masterPort = async () => {
    const [, masterAt] = (await admin.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string]
    return Number(masterAt)
  }
  try {
    await waitFor(() => redisAnswers(`redis://127.0.0.1:${port}`, 200), `the Sentinel on port ${port}`)
    await waitFor(async () => {
      const replicas = (await admin.call("SENTINEL", "REPLICAS", name)) as string[][]
      return replicas.some((fields) => fields[fields.indexOf("flags") + 1] === "slave")
    }, `the Sentinel to know the replica on port ${replica.port}`)
  } catch (error) {
    await stop()
    throw error
  }
  return { address: { host: "127.0.0.1", port }, masterPort, stop }
}

/** Deletes every key of `url` that starts with `keyPrefix` (bare, or inside a hash tag). */
export async function deleteKeys(url: string, keyPrefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 })
  client.on("error", () => {})
  try {
    for (const pattern of [`${keyPrefix}*`, `{${keyPrefix}*`]) {
      let cursor = "0"
      for (let rounds = 0; rounds < 100_000; rounds++) {
        const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
        if (keys.length > 0) await client.del(...keys)
        cursor = next
        if (cursor === "0") break
      }
    }
  } finally {
    client.disconnect()
  }
}
