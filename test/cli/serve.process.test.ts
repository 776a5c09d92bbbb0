// `herald serve` as a process: it starts with no setup (memory, and sqlite in a temp directory),
// answers, prints dev tokens that the hub accepts, refuses a busy port, and exits 0 on SIGTERM.

import { execFileSync } from "node:child_process"
import { once } from "node:events"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { connect, createServer, type Socket } from "node:net"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { openStream } from "../server/helpers.js"
import {
  bannerTokens,
  freePort,
  HERALD,
  herald,
  heraldDone,
  startHub,
  tempCwd,
  useCliProcesses,
} from "./cli-helpers.js"

useCliProcesses()

/** The kernel's cap on a listen backlog. */
function somaxconn(): number {
  return Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"))
}

/** Sends SIGTERM and resolves with the exit code and how long it took. */
async function terminate(
  hub: Awaited<ReturnType<typeof startHub>>,
): Promise<{ code: number | string; ms: number }> {
  const started = Date.now()
  hub.child.kill("SIGTERM")
  const code = await hub.exited
  return { code, ms: Date.now() - started }
}

describe("herald serve", () => {
  it("memory engine: answers, prints working dev tokens, and exits 0 on SIGTERM", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    expect(hub.stdout()).toMatch(/"msg":"listening on http:\/\/127\.0\.0\.1:\d+"/)
    expect(hub.stdout()).toContain('"engine":"memory"')
    await hub.waitFor(/Subscriber token/)
    const output = hub.stdout()
    expect(output).toContain("DEV MODE")
    expect(output).toContain("development only")
    expect(output).toContain(`curl -X POST '${hub.hubUrl}'`)
    expect(output).toContain(`curl -N -G '${hub.hubUrl}'`)
    // Run from outside the clone, where no node_modules/.bin/herald is: npx would fetch whatever
    // the registry calls herald, so the banner's commands run this CLI by its absolute path.
    expect(output).toContain(`node ${HERALD} listen --hub ${hub.hubUrl} https://example.com/books/1`)
    expect(output).not.toContain("npx herald")
    const { publisher, subscriber } = bannerTokens(output)

    const health = await fetch(new URL("/healthz", hub.hubUrl))
    expect(health.status).toBe(200)

    // The printed tokens are the hub's: the subscriber one opens a stream that gets what the
    // publisher one publishes. A bad token gets 401 even from this machine.
    const topic = "https://example.com/books/1"
    const url = `${hub.hubUrl}?match=${encodeURIComponent(topic)}`
    expect((await fetch(url, { headers: { authorization: "Bearer not.a.jwt" } })).status).toBe(401)
    const stream = await openStream(url, { authorization: `Bearer ${subscriber}` })
    expect(stream.status).toBe(200)
    const published = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic, data: "hello" }),
    })
    expect(published.status).toBe(200)
    const id = await published.text()
    const [event] = await stream.waitForEvents(1)
    expect(event).toMatchObject({ data: "hello", lastEventId: id })

    const { code, ms } = await terminate(hub)
    expect(code).toBe(0)
    expect(ms).toBeLessThan(5000)
    await stream.ended
    expect(hub.stdout()).toContain("SIGTERM: shutting down")
  })

  it("sqlite by default: herald.db and a 0600 dev-secret in ./herald-data; tokens survive a restart", async () => {
    const cwd = tempCwd()
    const port = await freePort()
    const first = await startHub(["--port", String(port)], { cwd })
    expect(first.stdout()).toContain(`"engine":"sqlite","dataDir":"${join(cwd, "herald-data")}"`)
    await first.waitFor(/Subscriber token/)
    expect(first.stdout()).toContain("created now")
    expect(statSync(join(cwd, "herald-data", "herald.db")).isFile()).toBe(true)
    expect(statSync(join(cwd, "herald-data", "dev-secret")).mode & 0o777).toBe(0o600)
    const { publisher } = bannerTokens(first.stdout())
    expect((await terminate(first)).code).toBe(0)

    const second = await startHub(["--port", String(port)], { cwd })
    await second.waitFor(/Subscriber token/)
    expect(second.stdout()).toContain("kept from an earlier run")
    const published = await fetch(second.hubUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic: "t", data: "still valid" }),
    })
    expect(published.status).toBe(200)
    expect((await terminate(second)).code).toBe(0)
  })

  it("dev mode says what it means, and lets only clients on this machine in without a token, even on --host 0.0.0.0", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0", "--host", "0.0.0.0"], { cwd })
    await hub.waitFor(/Subscriber token/)
    expect(hub.stdout()).toContain("Clients on this machine need no token")
    expect(hub.stdout()).toContain(
      "The hub listens on 0.0.0.0: other machines can reach it, and need a token.",
    )
    const topic = "https://example.com/users/1/inbox"
    const url = `${hub.hubUrl}?match=${encodeURIComponent(topic)}`
    const stream = await openStream(url)
    expect(stream.status).toBe(200)
    const published = await fetch(hub.hubUrl, {
      method: "POST",
      body: new URLSearchParams({ topic, data: "private, tokenless", private: "on" }),
    })
    expect(published.status).toBe(200)
    expect((await stream.waitForEvents(1)).map((event) => event.data)).toEqual(["private, tokenless"])
    // No non-loopback address is at hand: a proxy's header marks a request from elsewhere.
    const forwarded = { "x-forwarded-for": "203.0.113.7" }
    expect((await fetch(url, { headers: forwarded })).status).toBe(401)
    const refused = await fetch(hub.hubUrl, {
      method: "POST",
      headers: forwarded,
      body: new URLSearchParams({ topic, data: "from afar" }),
    })
    expect(refused.status).toBe(401)
    stream.close()
    expect((await terminate(hub)).code).toBe(0)
  })

  it("dev mode binds loopback only by default", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    await hub.waitFor(/Subscriber token/)
    expect(hub.stdout()).toContain("The hub listens on 127.0.0.1 only")
    expect(hub.stdout()).toMatch(/"msg":"listening on http:\/\/127\.0\.0\.1:\d+"/)
    expect(hub.stdout()).toContain('"address":"127.0.0.1","allInterfaces":false')
    expect((await terminate(hub)).code).toBe(0)
  })

  it.each([
    ["--host 0.0.0.0", ["--host", "0.0.0.0"], "0.0.0.0"],
    ["--host ::", ["--host", "::"], "::"],
  ])(
    "names localhost in the listening line for %s, a URL that works from here, and says it is every interface",
    async (_name, flags, address) => {
      const hub = await startHub(["--engine", "memory", "--port", "0", ...flags], { cwd: tempCwd() })
      await hub.waitFor(/"msg":"listening on /)
      // An operator checking what is exposed must not read localhost as loopback only.
      expect(hub.stdout()).toMatch(/"msg":"listening on http:\/\/localhost:\d+ \(all interfaces\)"/)
      expect(hub.stdout()).toContain(`"address":"${address}","allInterfaces":true`)
      expect((await terminate(hub)).code).toBe(0)
    },
  )

  it.each([
    ["::1", 43100],
    ["0:0:0:0:0:0:0:1", 43101],
  ])(
    "names a specific IPv6 address in brackets in the listening line for --host %s, a URL that opens",
    async (host, port) => {
      const hub = await startHub(["--engine", "memory", "--port", String(port), "--host", host], {
        cwd: tempCwd(),
      })
      await hub.waitFor(/"msg":"listening on /)
      const url = /"msg":"listening on (\S+)"/.exec(hub.stdout())?.[1]
      expect(url).toBe(`http://[::1]:${port}`)
      expect(hub.stdout()).toContain('"address":"::1","allInterfaces":false')
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      expect((await terminate(hub)).code).toBe(0)
    },
  )

  it("listens with the backlog --listen-backlog gives (4096 by default), as the kernel reports it", async () => {
    // `ss` shows a listening socket's backlog as its Send-Q.
    const backlogOf = (port: number) =>
      Number(
        execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" })
          .trim()
          .split(/\s+/)[2],
      )
    const byDefault = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    expect(backlogOf(byDefault.port)).toBe(Math.min(4096, somaxconn()))
    expect((await terminate(byDefault)).code).toBe(0)
    const small = await startHub(["--engine", "memory", "--port", "0", "--listen-backlog", "77"], {
      cwd: tempCwd(),
    })
    expect(backlogOf(small.port)).toBe(77)
    expect((await terminate(small)).code).toBe(0)
  })

  it("with a key and --no-dev: no banner, tokens required", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0", "--no-dev"], {
      cwd,
      env: { HERALD_JWT_KEY: "a-production-secret-of-at-least-32-bytes!" },
    })
    expect(hub.stdout()).not.toContain("DEV MODE")
    const refused = await fetch(hub.hubUrl, { method: "POST", body: new URLSearchParams({ topic: "t" }) })
    expect(refused.status).toBe(401)
    expect((await terminate(hub)).code).toBe(0)
  })

  it("a second signal exits at once while the first waits for a subscriber that does not read", async () => {
    const cwd = tempCwd()
    const hub = await startHub(
      ["--engine", "memory", "--port", "0", "--max-queued-bytes", "64mb", "--max-body-bytes", "8mb"],
      { cwd, env: { HERALD_SHUTDOWN_TIMEOUT: "60s" } },
    )
    await hub.waitFor(/Subscriber token/)
    const { publisher, subscriber } = bannerTokens(hub.stdout())
    // A subscriber that never reads: once its socket buffers are full, its stream cannot end.
    const socket = connect(hub.port, "localhost")
    await once(socket, "connect")
    socket.write(
      `GET /.well-known/mercure?match=big HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${subscriber}\r\n\r\n`,
    )
    socket.pause()
    socket.on("error", () => {})
    await new Promise((resolve) => setTimeout(resolve, 200))
    const published = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic: "big", data: "x".repeat(6 * 1024 * 1024) }),
    })
    expect(published.status).toBe(200)

    hub.child.kill("SIGTERM")
    await hub.waitFor(/SIGTERM: shutting down/)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(hub.child.exitCode).toBeNull()
    const started = Date.now()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(1)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(hub.stdout()).toContain("SIGTERM again: exiting now")
    socket.destroy()
  })

  it("a SIGTERM sent the moment it logs that it listens still shuts down cleanly (exit 0)", async () => {
    // The dev banner is printed after the listening line; a supervisor may signal in between.
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    const { code } = await terminate(hub)
    expect(code).toBe(0)
    expect(hub.stdout()).toContain("SIGTERM: shutting down")
  })

  it("shuts down cleanly on SIGHUP (its terminal closed) as on SIGTERM: exit 0, the shutdown logged", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    await hub.waitFor(/Subscriber token/)
    const stream = await openStream(`${hub.hubUrl}?topic=t`)
    expect(stream.status).toBe(200)
    hub.child.kill("SIGHUP")
    expect(await hub.exited).toBe(0)
    expect(hub.stdout()).toContain("SIGHUP: shutting down: closing 1 subscriber connection now")
    expect(hub.stdout()).toMatch(/"msg":"stopped in \d+ ms"/)
    // Told to come back, as on SIGTERM, not cut.
    await stream.ended
    expect(stream.retries.length).toBeGreaterThan(0)
  })

  it("on SIGTERM, logs the subscribers it closes and the AI generations it waits for, then those it interrupted", async () => {
    const cwd = tempCwd()
    // A demo answer of minutes: still running at the deadline.
    writeFileSync(
      join(cwd, "models.json"),
      JSON.stringify({ slow: { provider: "demo", words: 1000, tokensPerSecond: 5 } }),
    )
    const hub = await startHub(
      ["--engine", "memory", "--port", "0", "--ai-models", "models.json", "--shutdown-timeout", "500ms"],
      { cwd },
    )
    const origin = new URL(hub.hubUrl).origin
    const cancel = new AbortController()
    const subscriber = await fetch(`${hub.hubUrl}?topic=t`, { signal: cancel.signal })
    expect(subscriber.status).toBe(200)
    const generation = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "hi" }] }),
      signal: cancel.signal,
    })
    expect(generation.status).toBe(200)
    try {
      expect((await terminate(hub)).code).toBe(0)
    } finally {
      cancel.abort()
    }
    expect(hub.stdout()).toContain(
      "SIGTERM: shutting down: closing 1 subscriber connection now (each told to come back after its retry); waiting up to 500 ms for 1 AI generation in progress, then interrupting what is left",
    )
    expect(hub.stdout()).toMatch(/stopped in \d+ ms; 1 AI generation interrupted at the deadline/)
  })

  it("port in use: a clear error and exit 1", async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, resolve))
    const address = blocker.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const { code, stdout } = await heraldDone(["serve", "--engine", "memory", "--port", String(port)], {
        cwd: tempCwd(),
      })
      expect(code).toBe(1)
      expect(stdout).toContain(`port ${port} is already in use`)
      expect(stdout).toContain("pick another with --port or HERALD_PORT")
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  })

  it("a duration without a unit: refused with the units it may have meant (exit 2)", async () => {
    const { code, stderr } = await heraldDone(
      ["serve", "--engine", "memory", "--port", "0", "--heartbeat", "5", "--shutdown-timeout", "10s"],
      { cwd: tempCwd() },
    )
    expect(code).toBe(2)
    expect(stderr).toContain('--heartbeat "5": expected a duration with a unit')
    expect(stderr).toContain("give a unit, e.g. 5s or 5ms")
    expect(stderr).not.toContain("--shutdown-timeout")
  })

  it("a key that fits none of --algorithms: refused at start, naming both (exit 2)", async () => {
    const { code, stderr } = await heraldDone(
      ["serve", "--engine", "memory", "--port", "0", "--algorithms", "RS256"],
      {
        cwd: tempCwd(),
        env: { HERALD_JWT_KEY: "a-production-secret-of-at-least-32-bytes!" },
      },
    )
    expect(code).toBe(2)
    expect(stderr).toContain(
      'HERALD_JWT_KEY: it is a shared secret, which takes HS256, HS384, HS512, and --algorithms "RS256" allows none of them',
    )
  })

  it("answers a request that arrives the moment the port opens (none is left hanging at start-up)", async () => {
    const port = await freePort()
    const hub = herald(["serve", "--engine", "memory", "--port", String(port)], { cwd: tempCwd() })
    // Knock until the port opens, and send the request at once: a client reconnecting to a
    // restarting hub does exactly this.
    const socket = await connectWhenOpen(port, 15_000)
    socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    const statusLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer within 10 s")), 10_000)
      socket.once("data", (chunk: Buffer) => {
        clearTimeout(timer)
        resolve(chunk.toString().split("\r\n")[0] ?? "")
      })
    })
    socket.destroy()
    // 200 once the hub is up; 503 with Retry-After in the moment before.
    expect(statusLine).toMatch(/^HTTP\/1\.1 (200|503) /)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })
})

describe("herald serve's timeouts", () => {
  it("cuts a client that dribbles its headers past --headers-timeout (408)", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0", "--headers-timeout", "300ms"], {
      cwd: tempCwd(),
    })
    const socket = connect(Number(new URL(hub.hubUrl).port), "127.0.0.1")
    await once(socket, "connect")
    let answer = ""
    let dribble: NodeJS.Timeout | undefined
    socket.on("data", (chunk: Buffer) => {
      // The answer came: stop writing, or a byte sent after the hub closed draws a reset.
      clearInterval(dribble)
      answer += chunk.toString()
    })
    // A reset after the answer (a byte that crossed the hub's close) is not the test's concern.
    socket.on("error", () => undefined)
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n")
    // A header byte every 20 ms, for at most 10 s: the hub must cut it long before.
    let sent = 0
    dribble = setInterval(() => {
      if (socket.writable && ++sent < 500) socket.write("X")
    }, 20)
    await closed
    clearInterval(dribble)
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(sent).toBeLessThan(150)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })
})

/** Connects to `port` on loopback, retrying every few milliseconds while the connection is refused. */
async function connectWhenOpen(port: number, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const socket = connect(port, "127.0.0.1")
    try {
      await once(socket, "connect")
      return socket
    } catch (error) {
      socket.destroy()
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }
}
