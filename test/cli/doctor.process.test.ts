// `herald doctor` (the built CLI) against servers that misbehave on purpose, one per check, all
// on loopback: a real nginx with its defaults in front of a herald/server app (and the same
// nginx with the documented snippet), gzip middleware, no heartbeats, no ids, a wrong content
// type, a 200 that closes at once, HTTP/2 over TLS, and a `herald serve` hub it probes.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { NGINX_SSE_DIRECTIVES } from "../../src/cli/doctor/fixes.js"
import type { Verdict } from "../../src/cli/doctor/verdict.js"
import { findNginx, type Nginx, startNginx } from "../support/nginx.js"
import { freePort, heraldDone, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"
import { startHttp2Server, startMisbehavingServers } from "./doctor-servers.js"
import { hasOpenssl, startTlsHub } from "./tls-helpers.js"

useCliProcesses()

interface Report {
  verdict: Verdict
  response: { httpVersion?: string; status?: number; error?: string }
  watched: { events: number; heartbeats: number }
  checks: { id: string; verdict: Verdict; reason: string; fixes: { target: string; snippet: string }[] }[]
}

/** Runs `herald doctor --json` briefly on `url`; returns the exit code and each check's verdict. */
async function doctor(url: string, args: readonly string[] = [], cwd = tempCwd()) {
  const run = await heraldDone(["doctor", "--json", "--duration", "2s", "--timeout", "2s", ...args, url], {
    cwd,
  })
  let report: Report
  try {
    report = JSON.parse(run.stdout) as Report
  } catch {
    throw new Error(`no JSON report (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
  }
  const verdicts = Object.fromEntries(report.checks.map((check) => [check.id, check.verdict]))
  const reason = (id: string) => report.checks.find((check) => check.id === id)?.reason
  return { code: run.code, report, verdicts, reason }
}

let servers: Awaited<ReturnType<typeof startMisbehavingServers>>
beforeAll(async () => {
  servers = await startMisbehavingServers()
})
afterAll(() => servers.close())

describe("herald doctor: one fault per server", () => {
  it("a herald/server app done right: every check passes, exit 0", async () => {
    const { code, verdicts, report } = await doctor(`${servers.url}/herald`)
    expect(verdicts).toMatchObject({
      response: "pass",
      "content-type": "pass",
      "cache-control": "pass",
      "x-accel-buffering": "pass",
      connection: "pass",
      compression: "pass",
      timing: "pass",
      bursts: "pass",
      heartbeat: "pass",
      lifetime: "pass",
      ids: "pass",
      retry: "pass",
      resume: "pass",
      delivery: "skip",
    })
    expect(report.verdict).toBe("pass")
    expect(code).toBe(0)
  })

  it("gzip middleware that flushes when its buffer fills: compression fails, exit 1", async () => {
    const { code, verdicts, reason } = await doctor(`${servers.url}/gzip`)
    expect(verdicts.compression).toBe("fail")
    expect(reason("compression")).toMatch(/gzip-compressed, and no event came through/)
    expect(code).toBe(1)
  })

  it("gzip flushed per event: the doctor decompresses it, compression warns, events count", async () => {
    const { verdicts, report } = await doctor(`${servers.url}/gzip-flushed`)
    expect(verdicts.compression).toBe("warn")
    expect(verdicts.bursts).toBe("pass")
    expect(verdicts.ids).toBe("pass")
    expect(report.watched.events).toBeGreaterThan(5)
  })

  it("no heartbeats: heartbeat warns", async () => {
    const { verdicts, reason } = await doctor(`${servers.url}/no-heartbeat`)
    expect(verdicts.heartbeat).toBe("warn")
    expect(reason("heartbeat")).toMatch(/no heartbeat comment/)
  })

  it("no ids: ids warns and resume has nothing to resume from", async () => {
    const { verdicts } = await doctor(`${servers.url}/no-ids`)
    expect(verdicts.ids).toBe("warn")
    expect(verdicts.resume).toBe("skip")
  })

  it("ids but no replay: resume fails (the server goes on live, the events in between are lost)", async () => {
    const { code, verdicts, reason } = await doctor(`${servers.url}/no-heartbeat`)
    expect(verdicts.resume).toBe("fail")
    expect(reason("resume")).toMatch(/the events in between are lost/)
    expect(code).toBe(1)
  })

  it("wrong content type: content-type fails, exit 1", async () => {
    const { code, verdicts, reason } = await doctor(`${servers.url}/text-plain`)
    expect(verdicts["content-type"]).toBe("fail")
    expect(reason("content-type")).toMatch(/^text\/plain/)
    expect(code).toBe(1)
  })

  it("a 200 that closes at once: lifetime fails, exit 1", async () => {
    const { code, verdicts } = await doctor(`${servers.url}/closes`)
    expect(verdicts.response).toBe("pass")
    expect(verdicts.lifetime).toBe("fail")
    expect(code).toBe(1)
  })

  it("nothing listening: response fails, exit 1", async () => {
    const { code, verdicts, report } = await doctor(`http://127.0.0.1:${await freePort()}/`)
    expect(verdicts.response).toBe("fail")
    expect(report.response.error).toMatch(/ECONNREFUSED/)
    expect(report.checks.find((check) => check.id === "response")?.fixes).toEqual([])
    expect(code).toBe(1)
  })

  it("headers held back past the timeout (a buffering proxy, or no flush): response fails with the flush and buffering fixes", async () => {
    const { code, verdicts, report } = await doctor(`${servers.url}/holds-headers`)
    expect(verdicts.response).toBe("fail")
    const response = report.checks.find((check) => check.id === "response")
    expect(response?.reason).toMatch(/no response headers within 2000 ms.*proxy_buffering/)
    expect(response?.fixes.map((fix) => fix.target)).toEqual(["server", "server", "nginx", "Caddy"])
    expect(response?.fixes.find((fix) => fix.target === "nginx")?.snippet).toContain("proxy_buffering off;")
    expect(code).toBe(1)
  })

  it("usage: a URL that is not http(s), or a bad duration, exits 2; --help lists the options", async () => {
    const cwd = tempCwd()
    expect((await heraldDone(["doctor", "ftp://example.com/"], { cwd })).code).toBe(2)
    expect((await heraldDone(["doctor", "--duration", "soon", `${servers.url}/herald`], { cwd })).code).toBe(
      2,
    )
    const help = await heraldDone(["doctor", "--help"], { cwd })
    expect(help.code).toBe(0)
    for (const option of ["--duration", "--timeout", "--json", "--insecure", "--no-probe", "--token"])
      expect(help.stdout).toContain(option)
  })

  it("text report: one line per check with its symbol, fixes under it, no colors in a pipe", async () => {
    const { code, stdout } = await heraldDone(
      ["doctor", "--duration", "1s", "--timeout", "1s", `${servers.url}/text-plain`],
      { cwd: tempCwd() },
    )
    expect(stdout).toMatch(
      /^herald doctor http:\/\/127\.0\.0\.1:\d+\/text-plain\nHTTP\/1\.1 200 · text\/plain · /,
    )
    expect(stdout).toMatch(/\n {2}✗ content-type +text\/plain: EventSource accepts only text\/event-stream/)
    expect(stdout).toMatch(/\n +fix \(server\): Content-Type: text\/event-stream; charset=utf-8\n/)
    expect(stdout).toMatch(/\n {2}✓ response +200\n/)
    expect(stdout).toMatch(/\n\d+ fail · \d+ warn · \d+ pass · \d+ skipped\n/)
    expect(stdout).not.toContain("\x1b[")
    expect(code).toBe(1)
  })

  it("a 404: the response fails with what the server says, the stream's checks are skipped, exit 1", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    try {
      const nope = new URL("/nope", hub.hubUrl).href
      const { code, report, verdicts, reason } = await doctor(nope)
      expect(report.response.status).toBe(404)
      expect(reason("response")).toMatch(/^404: EventSource fails .*; the server says: \S/)
      for (const [id, verdict] of Object.entries(verdicts)) {
        if (id !== "response") expect(verdict, id).toBe("skip")
      }
      expect(reason("lifetime")).toBe("no stream to judge: the response was 404, not 200")
      expect(code).toBe(1)
    } finally {
      hub.child.kill("SIGTERM")
      await hub.exited
    }
  })
})

describe("herald doctor over HTTP/2 (node:http2 with TLS, a self-signed certificate made by openssl)", () => {
  it("negotiates h2 by ALPN, sees no Connection header, and passes; without -k the certificate fails", async (context) => {
    const server = await startHttp2Server()
    if (server === undefined) {
      if (process.env.HERALD_TEST_STRICT === "1") throw new Error("HERALD_TEST_STRICT=1 and no openssl")
      context.skip("no openssl to make a certificate")
      return
    }
    try {
      const { code, verdicts, report } = await doctor(server.url, ["--insecure"])
      expect(report.response.httpVersion).toBe("2")
      expect(verdicts).toMatchObject({
        "http-version": "pass",
        connection: "pass",
        bursts: "pass",
        resume: "pass",
      })
      expect(code).toBe(0)
      const refused = await doctor(server.url)
      expect(refused.verdicts.response).toBe("fail")
      expect(refused.report.response.error).toMatch(/self.signed/i)
      expect(refused.code).toBe(1)
    } finally {
      await server.close()
    }
  })
})

const nginx = findNginx()

describe.skipIf(nginx === undefined)("herald doctor behind a real nginx", () => {
  let proxy: Nginx
  let plainPort: number
  let fixedPort: number
  beforeAll(async () => {
    plainPort = await freePort()
    fixedPort = await freePort()
    const upstream = new URL(servers.url)
    // The first server is nginx's defaults (proxy_buffering on); the second adds the documented snippet.
    proxy = await startNginx(
      nginx as string,
      `server { listen 127.0.0.1:${plainPort}; location / { proxy_pass http://${upstream.host}; } }
server { listen 127.0.0.1:${fixedPort}; location / { proxy_pass http://${upstream.host};
${NGINX_SSE_DIRECTIVES}
} }`,
      [plainPort, fixedPort],
    )
  })
  afterAll(() => proxy?.stop())

  it("default proxy_buffering on: events arrive in 4 KiB bursts — bursts fails, with the nginx fix", async () => {
    const { code, verdicts, report } = await doctor(`http://127.0.0.1:${plainPort}/herald-buffered`, [
      "--duration",
      "2s",
    ])
    expect(verdicts.bursts).toBe("fail")
    const bursts = report.checks.find((check) => check.id === "bursts")
    expect(bursts?.fixes.find((fix) => fix.target === "nginx")?.snippet).toContain("proxy_buffering off;")
    // nginx consumes X-Accel-Buffering: the doctor says so instead of blaming its absence.
    expect(verdicts["x-accel-buffering"]).toBe("pass")
    expect(code).toBe(1)
  })

  it("the documented snippet fixes it: the same stream through it passes", async () => {
    const { code, verdicts } = await doctor(`http://127.0.0.1:${fixedPort}/herald-buffered`)
    expect(verdicts).toMatchObject({ bursts: "pass", compression: "pass", resume: "pass", heartbeat: "pass" })
    expect(code).toBe(0)
  })

  it("herald/server's own X-Accel-Buffering: no gets through nginx's defaults unbuffered", async () => {
    const { verdicts } = await doctor(`http://127.0.0.1:${plainPort}/herald`)
    expect(verdicts.bursts).toBe("pass")
  })
})

describe("herald doctor on a Mercure hub (herald serve, dev mode): probes end to end", () => {
  it.each([
    ["with legacy support", []],
    ["without legacy support (no topic=)", ["--no-legacy"]],
  ])(
    "publishes its probes with the dev token, sees each arrive on its own, and resumes them: a hub %s",
    async (_, extra) => {
      const cwd = tempCwd()
      const hub = await startHub(["--engine", "memory", "--port", "0", "--heartbeat", "300ms", ...extra], {
        cwd,
      })
      try {
        // Probes 400 ms apart: on a loaded 2-core machine a stalled process must not bunch them.
        const { code, verdicts, reason, report } = await doctor(hub.hubUrl, ["--duration", "2400ms"], cwd)
        const reasons = JSON.stringify(report.checks, null, 1)
        expect(verdicts, reasons).toMatchObject({
          bursts: "pass",
          resume: "pass",
          ids: "pass",
          heartbeat: "pass",
        })
        // Latency warns past 500 ms, which a loaded machine can reach; missing, doubled or late probes fail.
        expect(["pass", "warn"], reasons).toContain(verdicts.delivery)
        expect(reason("delivery")).toMatch(/^5 probes, publish → receive median \d+ ms/)
        expect(code, reasons).toBe(0)
      } finally {
        hub.child.kill("SIGTERM")
        await hub.exited
      }
    },
  )

  it("with -k, publishes its probes to a hub on a self-signed certificate too", async () => {
    if (!hasOpenssl()) return
    const { hub, cwd } = await startTlsHub(["--heartbeat", "300ms"])
    try {
      const { verdicts, reason, report } = await doctor(hub.hubUrl, ["-k", "--duration", "2400ms"], cwd)
      const reasons = JSON.stringify(report.checks, null, 1)
      expect(reason("delivery"), reasons).toMatch(/^5 probes, publish → receive median \d+ ms/)
      expect(verdicts.resume, reasons).toBe("pass")
    } finally {
      hub.child.kill("SIGTERM")
      await hub.exited
    }
  })

  it("without a token it says the probes could not be published", async () => {
    const cwd = tempCwd()
    // A configured key (not dev mode, where local clients need no token) and anonymous subscribers.
    const hub = await startHub(
      [
        "--engine",
        "memory",
        "--port",
        "0",
        "--heartbeat",
        "300ms",
        "--jwt-key",
        "a-secret-of-at-least-32-bytes-for-hs256!",
        "--anonymous",
      ],
      { cwd },
    )
    try {
      // Another directory: no dev secret to mint a token from.
      const { verdicts, reason } = await doctor(hub.hubUrl)
      expect(verdicts.delivery).toBe("warn")
      expect(reason("delivery")).toMatch(/could not publish the probes: 401/)
    } finally {
      hub.child.kill("SIGTERM")
      await hub.exited
    }
  })
})
