// `herald serve` on a Redis that refuses its settings exits 1 before it listens, with the cause and
// the flag to change; nothing is written to the Redis meanwhile (a database Redis lacks used to
// leave the connection on database 0, and the hub served from there).
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type RedisServer,
  redisServerInstalled,
  STRICT,
  startRedis,
  startSentinelSet,
} from "../engine/redis-servers.js"
import { heraldDone, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const installed = await redisServerInstalled()

describe.skipIf(!installed && !STRICT)("herald serve on a Redis that refuses its settings", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.destroy()
  })

  it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(installed, "redis-server is not installed").toBe(true)
  })

  it.each([
    {
      case: "a database it does not have",
      flags: (url: string) => ["--engine", `${url}/99`],
      says: /has no database 99: give one it has in --engine/,
    },
    {
      case: "--redis-cluster on a Redis that is no Cluster",
      flags: (url: string) => ["--engine", url, "--redis-cluster"],
      says: /is not a Cluster: drop --redis-cluster/,
    },
    {
      case: "rediss:// on a Redis without TLS",
      flags: (url: string) => ["--engine", url.replace("redis://", "rediss://")],
      says: /answers without TLS: give redis:\/\/, not rediss:\/\/, in --engine/,
    },
  ])("exits 1 before listening on $case, naming the cause and the flag", async ({ flags, says }) => {
    const { code, stdout, stderr } = await heraldDone(["serve", ...flags(redis.url), "--port", "0"], {
      cwd: tempCwd(),
    })
    const output = stdout + stderr
    expect(code, output).toBe(1)
    expect(output).toMatch(
      new RegExp(`cannot open the redis engine at rediss?://127\\.0\\.0\\.1:${redis.port}`),
    )
    expect(output).toContain(`Redis at 127.0.0.1:${redis.port} `)
    expect(output).toMatch(says)
    // A setting to change, not a bug: one line, no stack.
    expect(output).not.toMatch(/"stack"|\n\s+at \S/)
    expect(output).not.toContain("listening")
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    try {
      expect(await client.dbsize()).toBe(0)
    } finally {
      client.disconnect()
    }
  })

  it("exits 1 before listening when --engine names a server that is not Redis (an HTTP server)", async () => {
    const http = createServer((_request, response) => response.end("hi"))
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
    const { port } = http.address() as AddressInfo
    try {
      const { code, stdout, stderr } = await heraldDone(
        ["serve", "--engine", `redis://127.0.0.1:${port}`, "--port", "0"],
        { cwd: tempCwd() },
      )
      const output = stdout + stderr
      expect(code, output).toBe(1)
      expect(output).toContain(
        `cannot open the redis engine at redis://127.0.0.1:${port}: redis engine: the server at 127.0.0.1:${port} answered, but not as Redis (its reply began with 'H', as an HTTP server's does): check the host and port in --engine`,
      )
      expect(output).not.toMatch(/"stack"|\n\s+at \S|unreachable/)
      expect(output).not.toContain("listening")
    } finally {
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    }
  })

  it("answers 503 naming the refusal, and /readyz says it, when a Redis that comes after the start refuses the user a command", async () => {
    const late = await startRedis({
      args: ["--user", "late", "on", ">pw", "~*", "&*", "+@all", "-eval", "-evalsha"],
    })
    await late.stop()
    try {
      const hub = await startHub(
        ["--engine", late.url.replace("redis://", "redis://late:pw@"), "--port", "0"],
        {
          cwd: tempCwd(),
        },
      )
      await late.start()
      const refusal = /does not let the user of --engine run what the engine needs: .*NOPERM/
      await hub.waitFor(new RegExp(`"level":50,[^\n]*${refusal.source}`))
      const origin = new URL(hub.hubUrl).origin
      const readyz = await fetch(`${origin}/readyz`)
      expect(readyz.status).toBe(503)
      expect(await readyz.text()).toMatch(refusal)
      for (let i = 0; i < 3; i++) {
        const published = await fetch(hub.hubUrl, {
          method: "POST",
          body: new URLSearchParams({ topic: "https://example.com/late", data: "x" }),
        })
        expect(published.status).toBe(503)
        expect(await published.text()).toMatch(refusal)
      }
      hub.child.kill("SIGTERM")
      expect(await hub.exited).toBe(0)
      // One line for the refusal, not one per request.
      const errors = hub
        .stdout()
        .split("\n")
        .filter((line) => line.includes('"level":50'))
      expect(errors, hub.stdout()).toHaveLength(1)
    } finally {
      await late.destroy()
    }
  })

  it("exits 1 before listening on a master name the Sentinels do not know, naming the flag", async () => {
    const set = await startSentinelSet()
    try {
      const { code, stdout, stderr } = await heraldDone(
        [
          "serve",
          ...["--engine", "redis://127.0.0.1", "--port", "0"],
          ...[
            "--redis-sentinels",
            `127.0.0.1:${set.sentinel.port}`,
            "--redis-sentinel-name",
            "no-such-master",
          ],
        ],
        { cwd: tempCwd() },
      )
      const output = stdout + stderr
      expect(code, output).toBe(1)
      expect(output).toMatch(
        // The log line is JSON: the quotes around the name come escaped.
        /Redis at master \\?"no-such-master\\?" is not a master the Sentinels know: give the name they monitor in --redis-sentinel-name/,
      )
      expect(output).not.toMatch(/"stack"|\n\s+at \S/)
      expect(output).not.toContain("listening")
    } finally {
      await set.destroy()
    }
  }, 30_000)
})
