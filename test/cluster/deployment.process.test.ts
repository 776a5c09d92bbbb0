// docs/deployment.md, walked through: the page's Redis settings, nodes and nginx config (the
// cluster harness starts them from the page's text), then the page's own shell commands run by
// bash — the token script, the readiness probe, `herald listen` and `herald publish` through
// nginx — and the page's promise that a listener whose node is killed resumes on another.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { NGINX_SSE_DIRECTIVES } from "../../src/cli/doctor/fixes.js"
import { HERALD, useCliProcesses } from "../cli/cli-helpers.js"
import { waitFor } from "../engine/redis-servers.js"
import { CLUSTER_START_MS, type Cluster, clusterUnavailable, startCluster } from "./cluster.js"
import { docBlock, localize, redisSettings } from "./deployment-doc.js"

useCliProcesses()

const unavailable = await clusterUnavailable()
const run = promisify(execFile)
const ROOT = join(import.meta.dirname, "..", "..")

/** Bound of each wait and command. */
const STEP_MS = 30_000

describe.skipIf(unavailable !== undefined)("docs/deployment.md, command by command", () => {
  let cluster: Cluster
  /** A directory with a `herald` on PATH that runs the build, as an installed bin would. */
  let bin: string
  let listener: ChildProcess | undefined

  beforeAll(async () => {
    cluster = await startCluster()
    bin = mkdtempSync(join(tmpdir(), "herald-bin-"))
    writeFileSync(join(bin, "herald"), `#!/bin/sh\nexec "${process.execPath}" "${HERALD}" "$@"\n`)
    chmodSync(join(bin, "herald"), 0o755)
  }, CLUSTER_START_MS)
  afterAll(async () => {
    // The listener runs in a process group of its own: bash and the node it started.
    if (listener?.pid !== undefined && listener.exitCode === null) process.kill(-listener.pid, "SIGKILL")
    await cluster?.stop()
    if (bin !== undefined) rmSync(bin, { recursive: true, force: true })
  })

  /** The environment of a shell that ran the page's exports, with `herald` on PATH. */
  const shellEnv = (more: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("HERALD_")),
    )
    return { ...base, ...cluster.env, PATH: `${bin}:${process.env.PATH ?? ""}`, ...more }
  }

  /** Runs `script` in bash with the page's ports; resolves with its stdout (rejects on failure). */
  const bash = async (script: string, env: NodeJS.ProcessEnv, cwd = ROOT) => {
    const { stdout } = await run("bash", ["-c", script], { env, cwd, timeout: STEP_MS })
    return stdout
  }

  it("the nginx config carries every directive `herald doctor` asks of a proxy in front of SSE", () => {
    const config = docBlock("nginx")
    for (const directive of NGINX_SSE_DIRECTIVES.split("\n")) expect(config).toContain(directive)
  })

  it("Redis runs with the page's settings", async () => {
    const client = new Redis(cluster.redis.url, { maxRetriesPerRequest: 0 })
    try {
      const settings = redisSettings()
      for (let i = 0; i < settings.length; i += 2) {
        const name = (settings[i] as string).slice(2)
        expect(await client.config("GET", name)).toEqual([name, settings[i + 1]])
      }
    } finally {
      client.disconnect()
    }
  })

  it(
    "tokens, readiness, listen and publish through nginx; the listener's node killed, it resumes on another",
    async () => {
      const tokens = await bash(
        `${docBlock("tokens")}\nprintf '%s\\n%s\\n' "$PUBLISHER_TOKEN" "$SUBSCRIBER_TOKEN"`,
        shellEnv(),
      )
      const [publisherToken, subscriberToken] = tokens.trim().split("\n")
      expect(publisherToken).toMatch(/^ey/)
      expect(subscriberToken).toMatch(/^ey/)
      const env = shellEnv({
        PUBLISHER_TOKEN: publisherToken as string,
        SUBSCRIBER_TOKEN: subscriberToken as string,
      })

      const ports = {
        redis: cluster.redis.port,
        nginx: Number(new URL(cluster.hubUrl).port),
        nodes: cluster.nodes.map((node) => node.port),
      }
      const lines = localize(docBlock("try"), ports).split("\n")
      const [probe, listen, publish] = lines
      expect(lines).toHaveLength(3)
      expect(probe).toMatch(/^curl .*\/readyz$/)
      expect(listen).toMatch(/ herald listen .* &$/)
      expect(publish).toMatch(/ herald publish /)
      const cwd = mkdtempSync(join(tmpdir(), "herald-try-"))
      try {
        await bash(probe as string, env, cwd)

        let out = ""
        let err = ""
        listener = spawn("bash", ["-c", (listen as string).replace(/\s*&$/, "")], {
          env,
          cwd,
          detached: true,
        })
        listener.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString()
        })
        listener.stderr?.on("data", (chunk: Buffer) => {
          err += chunk.toString()
        })
        await waitFor(() => err.includes("listening on"), "herald listen to connect", STEP_MS)
        const data = /'([^']+)'$/.exec(publish as string)?.[1] as string
        const id = (await bash(publish as string, env, cwd)).trim()
        expect(id).toMatch(/^urn:uuid:/)
        await waitFor(() => out.includes(data), `herald listen to print ${data}`, STEP_MS)

        // Kill the node the listener is on: it comes back through nginx and resumes after `id`.
        const counts = await Promise.all(cluster.nodes.map((node) => node.connections()))
        const serving = cluster.nodes[counts.indexOf(1)]
        expect(counts.filter((count) => count === 1)).toHaveLength(1)
        await serving?.kill()
        await waitFor(
          () => err.includes(`reconnected, resuming after ${id}`),
          "herald listen to resume",
          STEP_MS,
        )
        await bash(publish as string, env, cwd)
        await waitFor(() => out.split(data).length - 1 === 2, `herald listen to print ${data} again`, STEP_MS)
        expect(out.split(data).length - 1).toBe(2)
      } finally {
        rmSync(cwd, { recursive: true, force: true })
      }
    },
    4 * STEP_MS,
  )
})
