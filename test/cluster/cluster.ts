// The setup of docs/deployment.md on loopback: a redis-server of the test's own (AOF, the page's
// settings) on a spare port, three `herald serve` nodes started as the page starts them, and a
// real nginx with the page's config in front. Every process is stopped by its own handle; every
// wait is bounded.
import { execFileSync } from "node:child_process"
import { herald, type Run, tempCwd } from "../cli/cli-helpers.js"
import {
  freePort,
  type RedisServer,
  redisServerInstalled,
  STRICT,
  startRedis,
  waitFor,
} from "../engine/redis-servers.js"
import { findNginx, type Nginx, startNginx } from "../support/nginx.js"
import { nginxConfig, nodeSetup, type Ports, redisSettings } from "./deployment-doc.js"

/** The hub's path on every node and through nginx. */
const HUB_PATH = "/.well-known/mercure"

/** How long a node may take to start on a loaded 2-core machine. */
const NODE_START_MS = 30_000

/** The bound of a `beforeAll` that starts a cluster: three nodes, Redis and nginx. */
export const CLUSTER_START_MS = 4 * NODE_START_MS

/**
 * Why the cluster tests cannot run here (no nginx, no redis-server), or `undefined` when they
 * can. Under HERALD_TEST_STRICT=1 (CI) a missing part throws instead: it must fail, not skip.
 */
export async function clusterUnavailable(): Promise<string | undefined> {
  const nginx = findNginx()
  const redis = await redisServerInstalled()
  if (redis && nginx !== undefined) return undefined
  const missing = [nginx === undefined ? "nginx" : "", redis ? "" : "redis-server"]
    .filter(Boolean)
    .join(" and ")
  if (STRICT) throw new Error(`HERALD_TEST_STRICT=1 and no ${missing}: install Debian's packages.`)
  return `no ${missing}`
}

/** One `herald serve` node of the cluster. */
export interface ClusterNode {
  /** Its `--node-id`. */
  readonly id: string
  readonly port: number
  /** The hub on this node, straight (not through nginx). */
  readonly hubUrl: string
  /** Whether its process is running. */
  readonly running: boolean
  /** The subscriber connections it holds open (its `herald_connections` metric). */
  connections(): Promise<number>
  /** `kill -9`, and waits for the process to be gone. */
  kill(): Promise<void>
  /** Starts it again, same id and port, and waits until it is ready. */
  restart(): Promise<void>
}

/** The running setup. */
export interface Cluster {
  readonly redis: RedisServer
  /** n1, n2, n3. */
  readonly nodes: readonly [ClusterNode, ClusterNode, ClusterNode]
  readonly nginx: Nginx
  /** The hub through nginx, on a loopback address. */
  readonly hubUrl: string
  /**
   * The environment the page's `export` lines made (the shared key, the public URL, …): what
   * a shell running the page's other commands has.
   */
  readonly env: Readonly<Record<string, string>>
  stop(): Promise<void>
}

/** The `i`-th of `nodes`, round robin: where a test sends its `i`-th publish. */
export function roundRobin(nodes: readonly ClusterNode[], i: number): ClusterNode {
  return nodes[i % nodes.length] as ClusterNode
}

/** The subscriber connections the running nodes hold, together. */
export async function totalConnections(cluster: Cluster): Promise<number> {
  const running = cluster.nodes.filter((node) => node.running)
  const counts = await Promise.all(running.map((node) => node.connections()))
  return counts.reduce((sum, count) => sum + count, 0)
}

/** What a test adds to the page's setup. */
export interface ClusterOptions {
  /** More `herald serve` arguments for every node (the test's own limits, a short `--retry`). */
  readonly nodeArgs?: readonly string[]
  /** nginx's `worker_connections` (each proxied stream takes two). Default 512. */
  readonly workerConnections?: number
}

/**
 * Starts Redis, the three nodes and nginx as docs/deployment.md does, each on a free loopback
 * port. Call {@link useCliProcesses} in the test file: it checks the build and kills leftovers.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const executable = findNginx()
  if (executable === undefined) throw new Error("no nginx (check clusterUnavailable() first)")
  const redis = await startRedis({ aof: true, args: redisSettings() })
  const started: ClusterNode[] = []
  try {
    const ports: Ports = {
      redis: redis.port,
      nginx: await freePort(),
      nodes: [await freePort(), await freePort(), await freePort()],
    }
    const setup = nodeSetup(ports)
    const env = exportedEnvironment(setup.exports)
    const nodes = setup.nodes.map((args, i) =>
      clusterNode([...args, ...(options.nodeArgs ?? [])], ports.nodes[i] as number, env),
    ) as [ClusterNode, ClusterNode, ClusterNode]
    // Together: a port found free stays unbound until its node listens, and another test's
    // process may take it meanwhile; one after another left the last one seconds to lose it.
    await Promise.all(
      nodes.map(async (node) => {
        started.push(node)
        await node.restart()
      }),
    )
    const nginx = await startNginx(executable, nginxConfig(ports), [ports.nginx], {
      workerConnections: options.workerConnections ?? 512,
    })
    return {
      redis,
      nodes,
      nginx,
      hubUrl: `http://127.0.0.1:${ports.nginx}${HUB_PATH}`,
      env,
      async stop() {
        await nginx.stop()
        await Promise.all(nodes.map((node) => node.kill()))
        await redis.destroy()
      },
    }
  } catch (error) {
    await Promise.all(started.map((node) => node.kill()))
    await redis.destroy()
    throw error
  }
}

/** The HERALD_* variables a shell has after running the page's `export` lines. */
function exportedEnvironment(exports: string): Record<string, string> {
  const output = execFileSync("bash", ["-c", `${exports}\nenv -0`], { encoding: "utf8", timeout: 10_000 })
  const env: Record<string, string> = {}
  for (const line of output.split("\0")) {
    const at = line.indexOf("=")
    if (line.startsWith("HERALD_") && at > 0) env[line.slice(0, at)] = line.slice(at + 1)
  }
  if (env.HERALD_JWT_KEY === undefined) throw new Error("the page's exports set no HERALD_JWT_KEY")
  return env
}

/** A node started with `args` (the page's, then the test's) and the page's environment. */
function clusterNode(args: readonly string[], port: number, env: Record<string, string>): ClusterNode {
  const id = args[args.indexOf("--node-id") + 1] as string
  const hubUrl = `http://127.0.0.1:${port}${HUB_PATH}`
  let current: Run | undefined
  const node: ClusterNode = {
    id,
    port,
    hubUrl,
    get running() {
      return current !== undefined && current.child.exitCode === null && current.child.signalCode === null
    },
    async connections() {
      // Metrics answer loopback clients without a token outside dev mode.
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
      const gauge = /^herald_connections (\d+)$/m.exec(await response.text())
      if (gauge === null)
        throw new Error(`node ${id}: no herald_connections in /metrics (${response.status})`)
      return Number(gauge[1])
    },
    async kill() {
      const run = current
      if (run === undefined || !node.running) return
      const exited = run.exited
      run.child.kill("SIGKILL")
      await exited
    },
    async restart() {
      await node.kill()
      // A fresh working directory: a node keeps nothing of its own (Redis holds it all).
      current = herald(["serve", ...args], { cwd: tempCwd(), env })
      await current.waitFor(/listening on/, NODE_START_MS)
      await waitFor(() => isReady(port), `node ${id} ready (/readyz 200)`, NODE_START_MS)
    },
  }
  return node
}

/** Whether the node on `port` answers /readyz with 200. */
async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}
